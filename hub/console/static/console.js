// Small behaviours without inline script (the CSP allows only our own files): select-all boxes.
document.addEventListener("change", function (e) {
  var box = e.target;
  if (!box.classList || !box.classList.contains("check-all")) return;
  var form = box.closest("form");
  form.querySelectorAll('input[type=checkbox][name="' + box.dataset.target + '"]').forEach(function (c) { c.checked = box.checked; });
});
