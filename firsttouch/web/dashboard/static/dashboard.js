// firsttouch dashboard: SLA countdowns and new hot leads without a reload.
// Lead values reach the page only through textContent, never as HTML.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var body = document.body;
  // The server may run on a virtual clock: count from its time, not ours.
  var serverNow = Date.parse(body.getAttribute("data-now") || "") || Date.now();
  var offset = serverNow - Date.now();

  function duration(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    if (seconds < 60) return seconds + "s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + "m";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 48) return hours + "h " + (minutes < 10 ? "0" : "") + minutes + "m";
    return Math.floor(hours / 24) + "d " + (hours % 24) + "h";
  }

  function tick() {
    var now = Date.now() + offset;
    var clocks = document.querySelectorAll(".sla[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var due = Date.parse(clocks[i].getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = (due - now) / 1000;
      var label = clocks[i].getAttribute("data-label");
      var prefix = label ? label + " " : "";
      clocks[i].textContent = prefix + (left >= 0 ? "due in " + duration(left)
                                                  : "overdue " + duration(left));
      clocks[i].classList.toggle("overdue", left < 0);
    }
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function card(lead, csrf) {
    var item = el("li", null, "lead fresh");
    item.setAttribute("data-lead-id", String(lead.id));
    var heading = el("h3");
    var link = el("a", lead.name);
    link.href = "/leads/" + encodeURIComponent(lead.id);
    heading.appendChild(link);
    if (lead.company) heading.appendChild(el("span", lead.company, "company-name"));
    item.appendChild(heading);

    var meta = el("p", null, "meta");
    meta.appendChild(el("span", lead.score === null ? "unscored" : "score " + lead.score,
                        "score"));
    if (lead.route) meta.appendChild(el("span", lead.route.replace(/_/g, " "), "route"));
    meta.appendChild(el("span", "owner: " + lead.owner));
    meta.appendChild(el("span", "source: " + lead.source + " (" +
                        lead.channel.replace(/_/g, " ") + ")"));
    var sla = el("span", lead.countdown, "sla");
    if (lead.due) sla.setAttribute("data-due", lead.due);
    if (lead.due_label) sla.setAttribute("data-label", lead.due_label);
    meta.appendChild(sla);
    item.appendChild(meta);

    if (lead.brief) item.appendChild(el("p", lead.brief, "brief"));
    if (lead.reasons.length) {
      var reasons = el("ul", null, "reasons");
      reasons.setAttribute("aria-label", "Why this score");
      lead.reasons.forEach(function (r) { reasons.appendChild(el("li", r)); });
      item.appendChild(reasons);
    }

    var actions = el("div", null, "actions");
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/leads/" + encodeURIComponent(lead.id) + "/claim";
    form.appendChild(hidden("csrf_token", csrf));
    form.appendChild(hidden("back", "queue"));
    var claim = el("button", "Claim");
    claim.type = "submit";
    claim.setAttribute("aria-label", "Claim " + lead.name);
    form.appendChild(claim);
    actions.appendChild(form);
    var open = el("a", "Open brief");
    open.href = link.href;
    actions.appendChild(open);
    item.appendChild(actions);
    return item;
  }

  function poll(live) {
    var list = document.getElementById("list-hot");
    var csrf = live.getAttribute("data-csrf");
    var since = live.getAttribute("data-since") || "";
    fetch("/queue/updates?since=" + encodeURIComponent(since),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var added = 0;
        data.leads.forEach(function (lead) {
          if (document.querySelector('[data-lead-id="' + Number(lead.id) + '"]')) return;
          list.insertBefore(card(lead, csrf), list.firstChild);
          added++;
        });
        if (added) {
          var empty = document.getElementById("empty-hot");
          if (empty) empty.remove();
          var count = document.querySelector("#h-hot .count");
          if (count) count.textContent = String(Number(count.textContent) + added);
          live.textContent = added + (added === 1 ? " new hot lead" : " new hot leads");
          tick();
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(function () { poll(live); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    var live = document.getElementById("live");
    if (live && document.getElementById("list-hot")) {
      setTimeout(function () { poll(live); }, POLL_MS);
    }
  });
})();
