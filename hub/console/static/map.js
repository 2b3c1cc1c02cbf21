// The grid map: the registry's polygons are the map (no tile server unless a county configures one).
// Each grid is shaded by the chosen figure; a click drills down (township -> village -> group -> grid page).
(function () {
  function shade(value, max) {
    var t = max > 0 ? value / max : 0;
    var light = Math.round(92 - t * 55);
    return "hsl(210, 70%, " + light + "%)";
  }
  function draw() {
    var el = document.getElementById("map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { attributionControl: Boolean(el.dataset.tiles), zoomSnap: 0.25 });
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    }
    fetch(el.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("map data " + r.status); return r.json(); })
      .then(function (data) {
        var max = 0;
        data.features.forEach(function (f) { max = Math.max(max, f.properties.value || 0); });
        var layer = L.geoJSON(data, {
          style: function (f) { return { color: "#0b3d6e", weight: 1, fillOpacity: 0.75, fillColor: shade(f.properties.value || 0, max) }; },
          onEachFeature: function (f, lyr) {
            lyr.bindTooltip(f.properties.name + "：" + (f.properties.value || 0), { sticky: true });
            lyr.on("click", function () { window.location.href = f.properties.href; });
          }
        }).addTo(map);
        var bounds = layer.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] }); else map.setView([39.6, 118.2], 11);
        var legend = L.control({ position: "bottomright" });
        legend.onAdd = function () {
          var div = L.DomUtil.create("div", "legend");
          var label = document.createElement("b");
          label.textContent = data.label;
          div.appendChild(label);
          [0, 0.5, 1].forEach(function (t) {
            var row = document.createElement("div");
            var swatch = document.createElement("i");
            swatch.style.background = shade(t * max, max);
            row.appendChild(swatch);
            row.appendChild(document.createTextNode(String(Math.round(t * max))));
            div.appendChild(row);
          });
          return div;
        };
        legend.addTo(map);
        el.dataset.features = String(data.features.length);
        el.classList.add("drawn");
      })
      .catch(function (err) { el.textContent = "地图数据加载失败：" + err.message; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
