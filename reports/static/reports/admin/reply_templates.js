// Reply templates on a report's page: choosing one inserts its text (placeholders already filled in by
// the server, in the option's data-text) into the public message, where it stays editable. A message
// already typed is kept; the template is added after it.
(function () {
  "use strict";

  function start() {
    var select = document.getElementById("id_reply_template");
    var message = document.getElementById("id_message");
    if (!select || !message) {
      return;
    }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var text = option ? option.dataset.text : "";
      if (!text) {
        return;
      }
      var typed = message.value.replace(/\s+$/, "");
      message.value = typed ? typed + "\n\n" + text : text;
      message.dispatchEvent(new Event("input", { bubbles: true }));
      select.value = "";
      message.focus();
      message.setSelectionRange(message.value.length, message.value.length);
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
