/* strangler-fig admin UI: live figures and charts fed by server-sent events, the canary slider,
   and the small glue htmx needs (CSRF header, closing the action panel). No build step. */
(function () {
  "use strict";

  var COLORS = { legacy: "#6b7280", new: "#15915b", shadow: "#7c4dcc" };
  var charts = {};
  var lastPayload = null;
  var lastSeen = 0;
  var dotTimer = null;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token as a header as well as in its form.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });

  // One time format on every page: 24-hour UTC, as the tables print it ("19:06:42 UTC").
  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 19);
  }

  function fmt(value, kind) {
    if (value === null || value === undefined) { return "\u2014"; }
    if (kind === "rps") { return value.toFixed(value >= 100 ? 0 : 1); }
    if (kind === "pct") { return value.toFixed(value >= 10 || value === 0 ? 1 : 2) + "%"; }
    if (kind === "ms") { return value >= 100 ? value.toFixed(0) : value.toFixed(1); }
    return String(value);
  }

  function setText(el, text, bad) {
    if (el.textContent !== text) { el.textContent = text; }
    el.classList.toggle("bad", !!bad);
  }

  function updateRows(payload) {
    var rows = document.querySelectorAll("tr[data-route]");
    rows.forEach(function (row) {
      var figures = payload.routes[row.getAttribute("data-route")] || null;
      row.querySelectorAll("[data-live]").forEach(function (cell) {
        var path = cell.getAttribute("data-live").split(".");
        var kind = cell.getAttribute("data-kind");
        var value = null;
        if (figures) {
          value = path.length === 2 ? (figures[path[0]] || {})[path[1]] : figures[path[0]];
        }
        if (kind === "guard") {
          var state = value || "idle";
          var text = state;
          if (state === "failing" && figures && figures.guard_needed) {
            text = "failing " + figures.guard_failures + "/" + figures.guard_needed;
          }
          cell.className = "badge guard-" + state;
          cell.title = (figures && figures.guard_detail) || "";
          setText(cell, text, false);
          return;
        }
        var bad = kind === "pct" && path[0] === "new" && value !== null && value > 1;
        if (path[0] === "parity") { bad = value !== null && value < 99; }
        setText(cell, fmt(value, kind), bad);
      });
    });
    var stamp = document.getElementById("live-updated");
    if (stamp) { stamp.textContent = clock(payload.now * 1000) + " UTC"; }
    var workers = document.getElementById("workers-status");
    if (workers && payload.workers) {
      var w = payload.workers;
      var stale = w.stale || [];
      var text = w.alive ? w.current + "/" + w.alive + " workers on v" + payload.version
        : "no data-plane worker seen";
      if (stale.length) { text += ", " + stale.length + " stale: " + stale.join("; "); }
      setText(workers, text, w.current < w.alive || !w.alive || stale.length > 0);
    }
    renderSyncLag(payload.sync_lag);
  }

  // One row of the sync lag box for a direction the page did not list yet ("reverse:orders": the
  // orders service's reverse relay), built with DOM calls so a direction name is never parsed as HTML.
  function addSyncRow(body, direction) {
    var row = document.createElement("tr");
    row.setAttribute("data-sync-direction", direction);
    var service = direction.indexOf("reverse:") === 0 ? direction.slice(8) : null;
    var label = document.createElement("td");
    label.textContent = service ? direction + " (" + service + " → legacy)" : direction;
    row.appendChild(label);
    ["lag", "backlog", "dead", "measured"].forEach(function (name) {
      var cell = document.createElement("td");
      cell.setAttribute("data-sync", name);
      row.appendChild(cell);
    });
    body.appendChild(row);
  }

  // The sync lag box: one row per direction; "unknown" until the sync relays have measured it.
  function renderSyncLag(lag) {
    var body = document.getElementById("sync-lag-rows");
    if (body && lag) {
      Object.keys(lag).forEach(function (direction) {
        var known = Array.prototype.some.call(body.querySelectorAll("[data-sync-direction]"), function (row) {
          return row.getAttribute("data-sync-direction") === direction;
        });
        if (!known) { addSyncRow(body, direction); }
      });
    }
    document.querySelectorAll("[data-sync-direction]").forEach(function (row) {
      var figures = lag ? lag[row.getAttribute("data-sync-direction")] : null;
      var cells = {};
      row.querySelectorAll("[data-sync]").forEach(function (cell) { cells[cell.getAttribute("data-sync")] = cell; });
      if (!figures) {
        setText(cells.lag, "unknown", false);
        setText(cells.backlog, "–", false);
        setText(cells.dead, "–", false);
        setText(cells.measured, "never", false);
        return;
      }
      setText(cells.lag, Math.round(figures.lag_ms) + " ms", figures.lag_ms > 1000);
      setText(cells.backlog, String(figures.backlog), figures.backlog > 0);
      setText(cells.dead, figures.dead === null || figures.dead === undefined ? "–" : String(figures.dead),
        figures.dead > 0);
      var measured = clock(Date.parse(figures.measured_at)) + " UTC";
      setText(cells.measured, figures.stale ? "stale · " + measured : measured, figures.stale);
    });
  }

  function selectedRoute() {
    var select = document.getElementById("chart-route");
    return select ? select.value : null;
  }

  // The chart's route list follows the active table: routes added or removed since the page loaded
  // appear or go; the first route is shown until the operator picks another one.
  function syncRouteOptions(payload) {
    var select = document.getElementById("chart-route");
    if (!select) { return; }
    var names = Object.keys(payload.series && payload.series.routes || {});
    var current = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (names.join("|") === current.join("|")) { return; }
    var chosen = select.getAttribute("data-chosen");
    select.innerHTML = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name === "-" ? "unmatched (always legacy)" : name;
      select.appendChild(option);
    });
    select.value = chosen && names.indexOf(chosen) >= 0 ? chosen : names[0];
    highlightRow();
  }

  function makeChart(canvas, unit, sides, max) {
    return new Chart(canvas.getContext("2d"), {
      type: "line",
      data: {
        labels: [],
        datasets: sides.map(function (side) {
          return {
            label: side, data: [], borderColor: COLORS[side], backgroundColor: COLORS[side],
            // monotone curves never overshoot the points, so a line stays inside its plot
            borderWidth: 2, pointRadius: 0, cubicInterpolationMode: "monotone", spanGaps: true,
          };
        }),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "top", align: "end", labels: { boxWidth: 10, font: { size: 11 } } } },
        scales: {
          x: {
            ticks: { maxTicksLimit: 6, font: { size: 10 } }, grid: { display: false },
            title: { display: true, text: "time (UTC)", font: { size: 11 } },
          },
          y: {
            beginAtZero: true, max: max, ticks: { font: { size: 10 } },
            title: { display: true, text: unit, font: { size: 11 } },
          },
        },
      },
    });
  }

  function updateCharts(payload) {
    if (typeof Chart === "undefined") { return; }
    var series = payload.series || {};
    var route = selectedRoute();
    var data = (series.routes || {})[route] || null;
    var labels = (series.seconds || []).map(function (s) { return clock(s * 1000); });
    Object.keys(charts).forEach(function (metric) {
      var chart = charts[metric];
      chart.data.labels = labels;
      chart.data.datasets.forEach(function (dataset) {
        dataset.data = data ? data[dataset.label + "_" + metric] || [] : [];
      });
      chart.update("none");
    });
  }

  function setupCharts() {
    document.querySelectorAll("canvas[data-metric]").forEach(function (canvas) {
      var sides = (canvas.getAttribute("data-sides") || "legacy new").split(" ");
      var max = canvas.hasAttribute("data-max") ? Number(canvas.getAttribute("data-max")) : undefined;
      charts[canvas.getAttribute("data-metric")] = makeChart(canvas, canvas.getAttribute("data-unit"), sides, max);
    });
    var select = document.getElementById("chart-route");
    if (select) {
      select.addEventListener("change", function () {
        select.setAttribute("data-chosen", select.value);
        highlightRow();
        if (lastPayload) { updateCharts(lastPayload); }
      });
    }
    document.addEventListener("click", function (event) {
      var row = event.target.closest && event.target.closest("tr[data-route]");
      if (!row || event.target.closest("button, a, input, select")) { return; }
      if (select) {
        select.value = row.getAttribute("data-route");
        select.dispatchEvent(new Event("change"));
      }
    });
    highlightRow();
  }

  function highlightRow() {
    var route = selectedRoute();
    document.querySelectorAll("tr[data-route]").forEach(function (row) {
      row.classList.toggle("selected", row.getAttribute("data-route") === route);
    });
  }

  function refreshRoutesTable() {
    var table = document.getElementById("routes-table");
    if (table && window.htmx) {
      htmx.ajax("GET", table.getAttribute("data-refresh-url"), { target: "#routes-table", swap: "outerHTML" });
    }
  }

  function connect(url) {
    var source = new EventSource(url);

    // The server ends each stream every few seconds and the browser reconnects at once; the dot
    // only goes grey when no figures arrived for a while.
    if (!dotTimer) {
      dotTimer = window.setInterval(function () {
        var current = document.getElementById("live-dot");
        if (current) { current.classList.toggle("on", Date.now() - lastSeen < 3500); }
      }, 1000);
    }
    source.addEventListener("error", function () {
      // CLOSED means the server refused the stream (e.g. the session ended): reload, which leads
      // to the login form when that is the reason. A stream that merely ended reconnects by itself.
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(function () { window.location.reload(); }, 3000);
      }
    });
    source.addEventListener("problem", function (event) {
      var stamp = document.getElementById("live-updated");
      if (stamp) { stamp.textContent = JSON.parse(event.data).message; }
    });
    source.addEventListener("stats", function (event) {
      var payload = JSON.parse(event.data);
      lastPayload = payload;
      var page = document.body.getAttribute("data-generation");
      if (page !== null && String(payload.generation) !== page) {
        // Another publish happened (an operator, a guard, the plan): refresh the table in place.
        document.body.setAttribute("data-generation", String(payload.generation));
        var badge = document.getElementById("active-version");
        if (badge) { badge.textContent = "v" + payload.version; }
        refreshRoutesTable();
      }
      lastSeen = Date.now();
      var current = document.getElementById("live-dot");
      if (current) { current.classList.add("on"); }
      syncRouteOptions(payload);
      updateRows(payload);
      updateCharts(payload);
    });
    return source;
  }

  // The canary weight slider shows its value; the weight only applies to canary.
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[type=range][data-output]")) {
      var out = document.getElementById(event.target.getAttribute("data-output"));
      if (out) { out.value = event.target.value + "%"; }
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=mode]")) {
      var form = event.target.form;
      var weight = form && form.querySelector(".weight-field");
      if (weight) { weight.hidden = event.target.value !== "canary"; }
      var upstream = form && form.querySelector(".upstream-field");
      if (upstream) { upstream.hidden = event.target.value === "legacy"; }
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    // The top bar's version follows the table the page shows (after this operator's publish too).
    var table = document.getElementById("routes-table");
    var badge = document.getElementById("active-version");
    if (table && badge && table.getAttribute("data-version")) {
      badge.textContent = "v" + table.getAttribute("data-version");
    }
    highlightRow();
    if (lastPayload) { updateRows(lastPayload); }
  });

  // After a publish, the add-route form starts blank again.
  document.addEventListener("routes-changed", function () {
    var form = document.querySelector("#new-route form");
    if (form) { form.reset(); }
  });

  // A successful publish closes the panel (it would hide the Guard, Parity and p99 columns) and says
  // what happened in a toast at the bottom of the page; a refusal stays in the panel to be read.
  var toastTimer = null;
  function showToast(text) {
    var toast = document.getElementById("toast");
    if (!toast) { return; }
    toast.textContent = text;
    toast.hidden = false;
    if (toastTimer) { window.clearTimeout(toastTimer); }
    toastTimer = window.setTimeout(function () { toast.hidden = true; }, 10000);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = document.getElementById("action-panel");
    if (!panel || event.detail.target !== panel) { return; }
    var ok = panel.querySelector('.flash.ok[role="status"]');
    if (ok) {
      showToast(ok.textContent.trim());
      closePanel();
    }
  });

  function closePanel() {
    var panel = document.getElementById("action-panel");
    if (panel) { panel.innerHTML = ""; }
  }
  window.stranglerClosePanel = closePanel;

  // Buttons marked data-close-panel close the action panel (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-close-panel]") : null;
    if (target) { closePanel(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    setupCharts();
    var live = document.body.getAttribute("data-stream");
    if (!live) { return; }
    var source = connect(live);
    // A hidden tab stops listening (no queries for nobody) and catches up when shown again.
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && source) {
        source.close();
        source = null;
      } else if (!document.hidden && !source) {
        source = connect(live);
      }
    });
  });
})();
