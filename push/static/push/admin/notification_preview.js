// The notification form's preview (push/admin_preview.py): as the person types, the form (without the
// file) goes to the preview endpoint, which answers the lock screens and warnings (data-part="preview")
// and the audience estimate (data-part="audience") as HTML; each replaces its part of the page. A chosen
// file is shown from the browser (a data: URL) until it is uploaded.
(function () {
  "use strict";

  var DELAY_MS = 300;

  function start() {
    var preview = document.getElementById("push-preview");
    var audience = document.getElementById("push-audience");
    var form = preview ? preview.closest("form") : null;
    if (!preview || !form) {
      return;
    }
    if (!form.elements.namedItem("title_de")) {
      // A notification that can no longer be changed: the page shows the preview of what was stored, and
      // there is nothing typed to preview.
      return;
    }
    var timer = null;
    var sequence = 0;
    var localImage = "";

    function showLocalImage() {
      if (!localImage) {
        return;
      }
      preview.querySelectorAll(".push-lock__image").forEach(function (node) {
        var image = node;
        if (node.tagName !== "IMG") {
          image = document.createElement("img");
          image.className = "push-lock__image";
          node.replaceWith(image);
        }
        image.hidden = false;
        image.alt = "";
        image.src = localImage;
      });
    }

    function refresh() {
      var data = new FormData(form);
      data.delete("image_upload");
      data.set("notification_id", preview.dataset.notification || "");
      var mine = ++sequence;
      fetch(preview.dataset.url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null || mine !== sequence) {
            return;
          }
          var answer = document.createElement("div");
          answer.innerHTML = html;
          var parts = { preview: preview, audience: audience };
          Object.keys(parts).forEach(function (name) {
            var part = answer.querySelector('[data-part="' + name + '"]');
            if (part && parts[name]) {
              parts[name].replaceChildren.apply(parts[name], Array.from(part.childNodes));
            }
          });
          preview.dataset.updated = String(mine);
          showLocalImage();
        })
        .catch(function () {});
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY_MS);
    }

    // The number field only for targets that take one, the address only for a web page.
    var target = document.getElementById("id_link_target");
    function showLinkFields() {
      if (!target) {
        return;
      }
      var numbered = (target.dataset.numbered || "").split(" ");
      var number = document.getElementById("id_link_id");
      if (number) {
        number.setAttribute("list", "push-link-" + target.value);
      }
      var rows = { link_id: numbered.indexOf(target.value) >= 0, link_url: target.value === "web" };
      Object.keys(rows).forEach(function (name) {
        var input = document.getElementById("id_" + name);
        var row = input ? input.closest(".form-row") : null;
        if (row) {
          row.hidden = !rows[name] && !input.value;
        }
      });
    }
    if (target) {
      target.addEventListener("change", showLinkFields);
      showLinkFields();
    }

    form.addEventListener("input", later);
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name === "image_upload") {
        localImage = "";
        var file = target.files && target.files[0];
        if (file) {
          var reader = new FileReader();
          reader.onload = function () {
            localImage = String(reader.result);
            showLocalImage();
          };
          reader.readAsDataURL(file);
        }
      }
      later();
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
