// What every map of the workspace shares: the tiles (from the settings MAP_TILE_URL and
// MAP_TILE_ATTRIBUTION; none if the URL is empty) and the city boundary, which is always drawn, so
// without tiles (a city network without internet) a map still shows where the city and the points are.
// The settings come in a json_script block (#workspace-map-config), not in an inline script.
(function () {
  "use strict";

  function readConfig() {
    var element = document.getElementById("workspace-map-config");
    return element ? JSON.parse(element.textContent) : { tileUrl: "", tileAttribution: "", boundary: null };
  }

  function create(element, options) {
    var config = readConfig();
    var map = L.map(element, Object.assign({ zoomSnap: 0.25 }, options || {}));
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    var tiles = null;
    if (config.tileUrl) {
      tiles = L.tileLayer(config.tileUrl, {
        maxZoom: 19,
        attribution: config.tileAttribution,
        // The site's Referrer-Policy is same-origin; OpenStreetMap's tile usage policy asks for a referer.
        referrerPolicy: "strict-origin-when-cross-origin",
      }).addTo(map);
    }
    var boundary = null;
    if (config.boundary) {
      boundary = L.geoJSON(config.boundary, {
        interactive: false,
        style: {
          className: "city-boundary",
          color: "#1d3557",
          weight: 3,
          dashArray: "8 6",
          fillColor: "#ffffff",
          fillOpacity: 0.35,
        },
      }).addTo(map);
    }
    return { map: map, boundary: boundary, tiles: tiles };
  }

  // Calls showWithoutTiles once if the map has no tiles or its tiles cannot be loaded (no tile arrived
  // before the first error), so a map can show the whole city instead of a blank street-level view.
  function whenTilesFail(drawn, showWithoutTiles) {
    if (!drawn.tiles) {
      showWithoutTiles();
      return;
    }
    var loaded = false;
    drawn.tiles.once("tileload", function () {
      loaded = true;
    });
    drawn.tiles.once("tileerror", function () {
      if (!loaded) {
        showWithoutTiles();
      }
    });
  }

  window.CasappWorkspaceMap = { create: create, whenTilesFail: whenTilesFail };
})();
