// The screen in city hall (reports/screen.py): polls the public summary about every data-refresh
// seconds (just after the server's next state, see nextPoll) with If-None-Match (an unchanged state costs
// a 304), draws it, and when the server or network is gone keeps the last state with its time
// ("Stand: hh:mm") and tries again at the same pace. Texts come from the template's data-text-*
// attributes; every text from the data is set as text, never as HTML.
(function () {
  "use strict";

  var TIME = new Intl.DateTimeFormat("de-DE", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Berlin" });
  var DAY = new Intl.DateTimeFormat("de-DE", { day: "2-digit", month: "2-digit", timeZone: "Europe/Berlin" });
  var NUMBER = new Intl.NumberFormat("de-DE", { maximumFractionDigits: 1 });

  function text(root, name, days) {
    var value = root.dataset["text" + name] || "";
    return days === undefined ? value : value.replace("{days}", NUMBER.format(days));
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined) {
      node.textContent = content;
    }
    return node;
  }

  function localDay(date) {
    return DAY.format(date);
  }

  function whenFiled(iso) {
    var date = new Date(iso);
    var time = TIME.format(date);
    return localDay(date) === localDay(new Date()) ? time : localDay(date) + " " + time;
  }

  function fillBars(list, rows, root) {
    var largest = Math.max.apply(null, [1].concat(rows.map(function (row) { return row.count; })));
    list.replaceChildren.apply(
      list,
      rows.map(function (row) {
        var item = element("li");
        item.dataset.key = row.key;
        item.appendChild(element("span", "screen-bar-label", row.label));
        var bar = element("span", "screen-bar");
        var fill = element("span");
        fill.style.width = (100 * row.count) / largest + "%";
        bar.appendChild(fill);
        item.appendChild(bar);
        item.appendChild(element("span", "screen-bar-count", NUMBER.format(row.count)));
        return item;
      })
    );
    if (!rows.length) {
      list.appendChild(element("li", "", text(root, "None")));
    }
  }

  function resolvedLine(root, report) {
    var after =
      report.days === 0
        ? text(root, "SameDay")
        : report.days === 1
          ? text(root, "AfterOneDay")
          : text(root, "AfterDays", report.days);
    return report.category_label + (report.place ? " " + report.place : "") + ", " + after;
  }

  function render(root, summary, layers) {
    document.getElementById("screen-no-districts").hidden = !(root.dataset.stadtteil && !summary.stadtteile_available);
    root.querySelectorAll("[data-figure]").forEach(function (node) {
      var value = summary[node.dataset.figure];
      if (node.dataset.figure.indexOf("median_") === 0) {
        node.textContent = value === null ? "–" : text(root, "Days", value);
      } else {
        node.textContent = NUMBER.format(value);
      }
    });
    // Six rows fit the panel: beyond six categories, the five largest and the rest summed, so the bars
    // still add up to the open reports.
    var byCategory = summary.open_by_category.map(function (row) {
      return { key: row.key, label: row.label, count: row.count };
    });
    if (byCategory.length > 6) {
      var rest = byCategory.splice(5).reduce(function (sum, row) { return sum + row.count; }, 0);
      byCategory.push({ key: "", label: text(root, "OtherCategories"), count: rest });
    }
    fillBars(document.getElementById("screen-by-category"), byCategory, root);
    var byAge = {};
    summary.open_by_age.forEach(function (row) { byAge[row.age] = row.count; });
    var oldest = Math.max.apply(null, [1].concat(summary.open_by_age.map(function (row) { return row.count; })));
    document.querySelectorAll("#screen-by-age li").forEach(function (item) {
      var count = byAge[item.dataset.age] || 0;
      item.querySelector(".screen-bar-count").textContent = NUMBER.format(count);
      item.querySelector(".screen-bar span").style.width = (100 * count) / oldest + "%";
    });

    var newest = document.getElementById("screen-newest-list");
    newest.replaceChildren.apply(
      newest,
      summary.newest.map(function (report) {
        var item = element("li");
        item.dataset.reportId = String(report.id);
        if (report.thumbnail) {
          var image = element("img");
          image.src = report.thumbnail;
          image.alt = "";
          item.appendChild(image);
        } else {
          item.appendChild(element("span"));
        }
        var what = element("span");
        what.appendChild(element("span", "screen-newest-category", report.category_label));
        what.appendChild(element("span", "screen-newest-place", report.place));
        item.appendChild(what);
        var time = element("time", "", whenFiled(report.created_at));
        time.dateTime = report.created_at;
        item.appendChild(time);
        return item;
      })
    );

    var line = document.getElementById("screen-resolved");
    line.textContent = summary.recently_resolved.length
      ? text(root, "Resolved") + " " + summary.recently_resolved.map(function (report) {
          return resolvedLine(root, report);
        }).join(" · ")
      : "";

    if (layers) {
      // Pins as large as the type: readable from a few metres on a 4K screen too.
      var pin = Math.round(parseFloat(window.getComputedStyle(document.documentElement).fontSize) * 0.9);
      layers.clearLayers();
      layers.addLayers(
        summary.points.map(function (point) {
          var marker = L.marker([point.latitude, point.longitude], {
            icon: L.divIcon({
              className: "screen-marker",
              html: '<span class="screen-pin screen-pin--' + point.status.replace(/[^a-z_]/g, "") + '"></span>',
              iconSize: [pin, pin],
            }),
            keyboard: false,
            interactive: false,
          });
          marker.reportId = point.id;
          return marker;
        })
      );
    }
    root.dataset.pointCount = String(summary.points.length);
  }

  function createMap(root) {
    var element = document.getElementById("screen-map");
    if (typeof L === "undefined" || !window.CasappWorkspaceMap) {
      return null;
    }
    var drawn = window.CasappWorkspaceMap.create(element, { zoomControl: false, keyboard: false });
    var fit = function () {
      drawn.map.invalidateSize();
      if (drawn.boundary) {
        drawn.map.fitBounds(drawn.boundary.getBounds(), { padding: [8, 8] });
      } else {
        drawn.map.setView([51.56, 7.31], 12);
      }
    };
    fit();
    var layers = L.markerClusterGroup({
      showCoverageOnHover: false,
      maxClusterRadius: 36,
      iconCreateFunction: function (cluster) {
        var size = Math.round(parseFloat(window.getComputedStyle(document.documentElement).fontSize) * 2);
        return L.divIcon({ html: String(cluster.getChildCount()), className: "screen-cluster", iconSize: [size, size] });
      },
    }).addTo(drawn.map);
    return { layers: layers, fit: fit };
  }

  function start() {
    var root = document.getElementById("screen");
    if (!root) {
      return;
    }
    // A figures-only screen draws no map: a hidden one would still fetch tiles (at the wrong zoom).
    var map = root.dataset.view === "figures" ? null : createMap(root);
    var refresh = Math.max(5, Number(root.dataset.refresh) || 30) * 1000;
    // The server computes a new state once per window of data-window seconds and says in max-age how
    // long the current one lasts: a screen asks again just after that, so a change shows within one
    // refresh, and a second of random spread keeps a hall full of screens from asking at once.
    var serverWindow = Math.max(1, Number(root.dataset.window) || 30) * 1000;
    var query = new URLSearchParams();
    if (root.dataset.stadtteil) {
      query.set("stadtteil", root.dataset.stadtteil);
    }
    if (root.dataset.category) {
      query.set("category", root.dataset.category);
    }
    var url = root.dataset.summaryUrl + (query.toString() ? "?" + query.toString() : "");
    var etag = null;
    var stand = document.getElementById("screen-stand");
    var offline = document.getElementById("screen-offline");

    function confirmed() {
      var now = new Date();
      stand.textContent = TIME.format(now);
      stand.dateTime = now.toISOString();
      root.classList.remove("screen--offline");
      offline.hidden = true;
      root.dataset.state = "online";
    }

    function lost() {
      root.classList.add("screen--offline");
      offline.textContent = text(root, "Offline");
      offline.hidden = false;
      root.dataset.state = "offline";
    }

    function nextPoll(response) {
      var match = /max-age=(\d+)/.exec((response && response.headers.get("Cache-Control")) || "");
      var fresh = match ? Number(match[1]) * 1000 : 0;
      if (!fresh || refresh < fresh) {
        return refresh; // a screen asking more often than the state changes: 304s in between
      }
      return fresh + serverWindow * Math.floor((refresh - fresh) / serverWindow) + 500 + Math.random() * 1500;
    }

    function poll() {
      var delay = refresh;
      var headers = { Accept: "application/json" };
      if (etag) {
        headers["If-None-Match"] = etag;
      }
      // Our own revalidation, not the browser cache's: a 304 is seen here and keeps the drawn state.
      fetch(url, { headers: headers, cache: "no-store", credentials: "omit" })
        .then(function (response) {
          delay = nextPoll(response);
          if (response.status === 304) {
            return null;
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          etag = response.headers.get("ETag");
          return response.json();
        })
        .then(function (summary) {
          if (summary) {
            render(root, summary, map && map.layers);
            root.dataset.generatedAt = summary.generated_at;
          }
          confirmed();
        })
        .catch(function () {
          delay = refresh;
          lost();
        })
        .then(function () {
          window.setTimeout(poll, delay);
        });
    }

    if (root.dataset.view === "rotate") {
      var showMap = true;
      var turn = function () {
        root.classList.toggle("screen--map", showMap);
        root.classList.toggle("screen--figures", !showMap);
        if (showMap && map) {
          map.fit();
        }
        showMap = !showMap;
      };
      turn();
      window.setInterval(turn, Math.max(5, Number(root.dataset.rotate) || 20) * 1000);
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
