// The overview map of open reports: points from the data endpoint (#overview-map's data-points-url),
// clustered, coloured by status (CSS classes report-pin--<status>, the same as the legend's), each
// linking to its report. Changing a filter fetches the points again with the form's values, so a new
// filter is a new field of the form (reports/admin/triage_map.py) and needs no change here.
(function () {
  "use strict";

  function tooltipOf(point) {
    // Built from text nodes: descriptions and addresses are citizens' text, never HTML.
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = "#" + point.id + " " + point.category;
    box.appendChild(title);
    var state = point.status_label + " · " + point.age;
    if (point.overdue) {
      state += " · " + (document.getElementById("overview-map").dataset.overdueText || "überfällig");
    }
    [state, point.place, point.summary].forEach(function (line) {
      if (line) {
        box.appendChild(document.createElement("br"));
        box.appendChild(document.createTextNode(line));
      }
    });
    return box;
  }

  function markerOf(point) {
    var marker = L.marker([point.latitude, point.longitude], {
      icon: L.divIcon({
        className: "report-pin report-pin--" + point.status + (point.overdue ? " report-pin--overdue" : ""),
        iconSize: [18, 18],
      }),
      title: "#" + point.id,
      alt: "#" + point.id,
    });
    marker.bindTooltip(tooltipOf(point), { direction: "top", offset: [0, -10] });
    marker.on("click", function () {
      window.location.assign(point.url);
    });
    return marker;
  }

  function clusterIcon(cluster) {
    return L.divIcon({
      html: "<span>" + cluster.getChildCount() + "</span>",
      className: "report-cluster",
      iconSize: [36, 36],
    });
  }

  function start() {
    var element = document.getElementById("overview-map");
    var form = document.getElementById("overview-map-filters");
    var count = document.getElementById("overview-map-count");
    if (!element || typeof L === "undefined" || !window.CasappWorkspaceMap) {
      return;
    }
    var drawn = window.CasappWorkspaceMap.create(element, {});
    var map = drawn.map;
    if (drawn.boundary) {
      map.fitBounds(drawn.boundary.getBounds(), { padding: [12, 12] });
    } else {
      map.setView([51.55, 7.31], 13);
    }
    var points = L.markerClusterGroup({
      iconCreateFunction: clusterIcon,
      showCoverageOnHover: false,
      maxClusterRadius: 40,
    }).addTo(map);

    var pending = null;
    function load() {
      var query = new URLSearchParams(new FormData(form)).toString();
      window.history.replaceState(null, "", query ? "?" + query : window.location.pathname);
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      element.setAttribute("aria-busy", "true");
      fetch(element.dataset.pointsUrl + "?" + query, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending.signal,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          points.clearLayers();
          points.addLayers(data.reports.map(markerOf));
          count.textContent = data.count_label;
          element.dataset.loadedCount = String(data.count);
          element.removeAttribute("aria-busy");
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            count.textContent = element.dataset.errorText;
            element.removeAttribute("aria-busy");
          }
        });
    }

    form.addEventListener("change", load);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      load();
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
