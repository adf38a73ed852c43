// The report's place on a map, drawn into #report-map (coordinates in data attributes), with the city
// boundary (workspace_map.js). Without Leaflet the "open in OpenStreetMap" link below it stays.
(function () {
  "use strict";

  function drawReportMap() {
    var element = document.getElementById("report-map");
    if (!element || typeof L === "undefined" || !window.CasappWorkspaceMap) {
      return;
    }
    var position = [parseFloat(element.dataset.latitude), parseFloat(element.dataset.longitude)];
    var drawn = window.CasappWorkspaceMap.create(element, { scrollWheelZoom: false });
    drawn.map.setView(position, 17);
    L.marker(position, { keyboard: false }).addTo(drawn.map);
  }

  document.addEventListener("DOMContentLoaded", drawReportMap);
})();
