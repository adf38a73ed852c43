// The report's place on a map, drawn into #report-map (coordinates in data attributes), with the city
// boundary (workspace_map.js). Street level with tiles; without them (none configured, or unreachable)
// the whole city, so the place is seen within its boundary. Without Leaflet the OpenStreetMap link stays.
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
    window.CasappWorkspaceMap.whenTilesFail(drawn, function () {
      if (drawn.boundary) {
        drawn.map.fitBounds(drawn.boundary.getBounds().extend(position), { padding: [12, 12] });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", drawReportMap);
})();
