// The report's location on an OpenStreetMap map, drawn with Leaflet into the element the admin renders
// (#report-map, with the coordinates in data attributes). Without Leaflet (CDN blocked) the link stays.
(function () {
  "use strict";

  function drawReportMap() {
    var element = document.getElementById("report-map");
    if (!element || typeof L === "undefined") {
      return;
    }
    var position = [parseFloat(element.dataset.latitude), parseFloat(element.dataset.longitude)];
    var map = L.map(element, { scrollWheelZoom: false }).setView(position, 17);
    L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 19,
      attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
      // The site's Referrer-Policy is same-origin; OpenStreetMap's tile usage policy asks for a referer.
      referrerPolicy: "strict-origin-when-cross-origin",
    }).addTo(map);
    L.marker(position, { keyboard: false }).addTo(map);
  }

  document.addEventListener("DOMContentLoaded", drawReportMap);
})();
