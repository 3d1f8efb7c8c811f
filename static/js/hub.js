// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // "Select all" for the inbox listing's selection: a checkbox with data-select-all="<form id>"
  // ticks or clears every checkbox that belongs to that form. It is hidden until this runs,
  // so without JavaScript there is no control that does nothing.
  function reveal(root) {
    root.querySelectorAll("[data-select-all-wrapper][hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }

  function boxes(formId) {
    return document.querySelectorAll('input[type=checkbox][form="' + formId + '"]');
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var formId = target.getAttribute("data-select-all");
    if (formId) {
      boxes(formId).forEach(function (box) { box.checked = target.checked; });
      return;
    }
    var owner = target.getAttribute("form");
    var all = owner && document.querySelector('[data-select-all="' + owner + '"]');
    if (all) {
      var list = Array.prototype.slice.call(boxes(owner));
      var ticked = list.filter(function (box) { return box.checked; }).length;
      all.checked = ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
})();
