// Print buttons: any <button data-print> opens the browser's print dialog. A file rather than
// an inline onclick handler, so the page passes the Content-Security-Policy (script-src 'self').
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function () { window.print(); });
  }
})();
