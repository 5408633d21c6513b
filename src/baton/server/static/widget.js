/* Baton web chat widget: <script src="https://your-baton/widget.js"></script>
 * Options (data attributes on the script tag): data-title, data-open="true".
 * The session id lives in localStorage, so a reload shows the same conversation. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", window.location.href);
  var title = (script && script.getAttribute("data-title")) || "Chat";
  var startOpen = script && script.getAttribute("data-open") === "true";
  var storageKey = "baton.session." + base.host;

  function newSession() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  var session = localStorage.getItem(storageKey);
  if (!session) { session = newSession(); localStorage.setItem(storageKey, session); }

  var root = document.createElement("div");
  root.id = "baton-chat";
  root.setAttribute("style", "position:fixed;bottom:16px;right:16px;width:340px;" +
    "font:14px system-ui,sans-serif;z-index:2147483647;box-shadow:0 4px 16px rgba(0,0,0,.2);" +
    "border-radius:10px;background:#fff;overflow:hidden");
  root.innerHTML =
    '<div data-baton="header" style="background:#234;color:#fff;padding:10px;cursor:pointer">' +
    '<span data-baton="title"></span><span data-baton="state" style="float:right;opacity:.7">' +
    '</span></div><div data-baton="body" style="display:none">' +
    '<div data-baton="log" role="log" aria-live="polite" style="height:320px;overflow-y:auto;' +
    'padding:8px"></div><form data-baton="form" style="display:flex;border-top:1px solid #ddd">' +
    '<input data-baton="input" aria-label="Message" autocomplete="off" maxlength="4096" ' +
    'style="flex:1;border:0;padding:10px"><button type="submit" style="border:0;padding:0 14px">' +
    'Send</button></form></div>';
  function part(name) { return root.querySelector('[data-baton="' + name + '"]'); }
  part("title").textContent = title;
  var log = part("log"), input = part("input"), body = part("body"), stateEl = part("state");

  function toggle(open) { body.style.display = open ? "block" : "none"; }
  part("header").addEventListener("click", function () {
    toggle(body.style.display === "none");
  });

  function line(cls, text, who) {
    var div = document.createElement("div");
    div.className = "baton-" + cls;
    div.setAttribute("data-role", cls);
    if (who) { div.setAttribute("data-bot", who); }
    var align = cls === "user" ? "right" : "left";
    var look = cls === "transfer" ? ";color:#888;font-size:12px" :
      cls === "error" ? ";color:#b00020;font-size:12px" : "";
    div.setAttribute("style", "margin:4px 0;text-align:" + align + look);
    if (cls === "error") { div.setAttribute("role", "alert"); }
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }
  function show(frame) {
    if (frame.type === "reply") { line(frame.sender === "human" ? "human" : "bot", frame.text, frame.bot); }
    else if (frame.type === "transfer") { line("transfer", "→ " + frame.to, frame.to); }
    else if (frame.type === "error") { line("error", frame.message); }
  }

  var socket = null, pending = [], delay = 500, counter = 0;
  function connect() {
    var scheme = base.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + base.host + "/channels/web/ws?session=" + session);
    stateEl.textContent = "connecting…";
    socket.onopen = function () {
      delay = 500;
      stateEl.textContent = "online";
      root.setAttribute("data-connected", "true");
      while (pending.length) { socket.send(pending.shift()); }
    };
    socket.onmessage = function (msg) {
      var frame = JSON.parse(msg.data);
      if (frame.type === "history") {
        log.textContent = "";
        frame.messages.forEach(function (m) {
          if (m.role === "user") { line("user", m.text); }
          else if (m.role === "transfer") { line("transfer", "→ " + m.to, m.to); }
          else { line(m.role === "human" ? "human" : "bot", m.text, m.bot); }
        });
      } else { show(frame); }
    };
    socket.onclose = function (event) {
      root.setAttribute("data-connected", "false");
      if (event.code === 1009) { line("error", "That message is too long to send."); }
      stateEl.textContent = "reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  part("form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    line("user", text);
    counter += 1;
    var frame = JSON.stringify({ text: text, id: session + "-" + Date.now() + "-" + counter });
    if (socket && socket.readyState === 1) { socket.send(frame); } else { pending.push(frame); }
  });

  function mount() { document.body.appendChild(root); toggle(startOpen); connect(); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
