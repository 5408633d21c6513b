/* Baton web chat widget: <script src="https://your-baton/widget.js"></script>
 * Options (data attributes on the script tag): data-title, data-open="true".
 * The session id lives in localStorage, so a reload shows the same conversation.
 *
 * Colours (WCAG 2 contrast ratios; tests/server/test_webchat.py measures them in a
 * browser): text #1f2328 on #ffffff 15.8:1 and on the reply bubble #eef2f6 14.0:1; bot
 * names #3b4a5c on #eef2f6 8.1:1; header, send button and user bubbles #ffffff on #223344
 * 12.9:1; status #d7dee6 on #223344 9.5:1; transfer notes #4b5563 on #ffffff 7.6:1;
 * errors #a4001d on #fdecee 7.1:1; placeholder #5b6573 on #ffffff 5.9:1. Focus rings
 * (3 px): #1a5fb4 on white 6.3:1, #ffd166 on the dark header and button 9.0:1. */
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
  // localStorage throws where storage is blocked (cookies off, some iframes): the chat
  // still works, for this page's life.
  var session = null;
  try { session = localStorage.getItem(storageKey); } catch (e) { session = null; }
  if (!session) {
    session = newSession();
    try { localStorage.setItem(storageKey, session); } catch (e) { /* not kept */ }
  }

  var css =
    "#baton-chat{position:fixed;bottom:16px;right:16px;width:340px;" +
    "max-width:calc(100vw - 32px);font:14px/1.4 system-ui,sans-serif;color:#1f2328;" +
    "background:#fff;z-index:2147483647;" +
    "box-shadow:0 4px 16px rgba(0,0,0,.25);border-radius:10px;overflow:hidden}" +
    "#baton-chat [hidden]{display:none!important}" +
    "#baton-chat .baton-header{display:flex;align-items:center;gap:8px;width:100%;margin:0;" +
    "padding:10px 12px;border:0;background:#223344;color:#fff;font:inherit;font-weight:600;" +
    "text-align:left;cursor:pointer}" +
    "#baton-chat .baton-title{flex:1}" +
    "#baton-chat .baton-state{font-weight:400;font-size:12px;color:#d7dee6}" +
    "#baton-chat .baton-log{height:320px;overflow-y:auto;padding:8px 10px;background:#fff}" +
    "#baton-chat .baton-log>div{margin:6px 0;width:fit-content;max-width:85%;" +
    "white-space:pre-wrap;overflow-wrap:anywhere}" +
    "#baton-chat .baton-bot,#baton-chat .baton-human{padding:6px 10px;border-radius:10px;" +
    "background:#eef2f6;color:#1f2328;border:1px solid #d5dde6}" +
    "#baton-chat .baton-user{margin-left:auto!important;padding:6px 10px;border-radius:10px;" +
    "background:#223344;color:#fff}" +
    "#baton-chat .baton-who{display:block;font-size:12px;font-weight:700;color:#3b4a5c}" +
    "#baton-chat .baton-transfer{width:auto!important;max-width:none!important;" +
    "margin:10px 0!important;padding-top:4px;border-top:1px dashed #8a96a3;" +
    "text-align:center;font-size:12px;font-style:italic;color:#4b5563}" +
    "#baton-chat .baton-error{padding:6px 10px;border-radius:6px;font-size:13px;" +
    "background:#fdecee;color:#a4001d;border-left:4px solid #a4001d}" +
    "#baton-chat .baton-sr{position:absolute;width:1px;height:1px;overflow:hidden;" +
    "clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}" +
    "#baton-chat form{display:flex;margin:0;border-top:1px solid #d5dde6}" +
    "#baton-chat .baton-input{flex:1;min-width:0;border:0;padding:10px;font:inherit;" +
    "color:#1f2328;background:#fff}" +
    "#baton-chat .baton-input::placeholder{color:#5b6573;opacity:1}" +
    "#baton-chat .baton-send{border:0;padding:0 16px;font:inherit;font-weight:600;" +
    "background:#223344;color:#fff;cursor:pointer}" +
    "#baton-chat :focus-visible{outline:3px solid #1a5fb4;outline-offset:-3px}" +
    "#baton-chat .baton-header:focus-visible,#baton-chat .baton-send:focus-visible" +
    "{outline-color:#ffd166}";

  var root = document.createElement("div");
  root.id = "baton-chat";
  root.innerHTML =
    "<style></style>" +
    '<button type="button" class="baton-header" data-baton="header" aria-expanded="false" ' +
    'aria-controls="baton-chat-body" aria-describedby="baton-chat-state">' +
    '<span class="baton-title" data-baton="title"></span>' +
    '<span class="baton-state" data-baton="state" id="baton-chat-state"></span></button>' +
    '<div data-baton="body" id="baton-chat-body" hidden>' +
    '<div data-baton="log" class="baton-log" role="log" aria-live="polite" ' +
    'aria-label="Messages" tabindex="0"></div>' +
    '<form data-baton="form">' +
    '<input data-baton="input" class="baton-input" aria-label="Message" ' +
    'placeholder="Type a message" autocomplete="off">' +
    '<button type="submit" class="baton-send" data-baton="send" aria-label="Send message">' +
    "Send</button></form></div>";
  root.querySelector("style").textContent = css;
  function part(name) { return root.querySelector('[data-baton="' + name + '"]'); }
  part("title").textContent = title;
  var log = part("log"), input = part("input"), body = part("body"), stateEl = part("state");
  var header = part("header");

  function toggle(open) {
    body.hidden = !open;
    header.setAttribute("aria-expanded", open ? "true" : "false");
  }
  // A <button>: Enter and Space click it, so the keyboard needs nothing more.
  header.addEventListener("click", function () { toggle(body.hidden); });

  function add(cls, who, text, bot) {
    var div = document.createElement("div");
    div.className = "baton-" + cls;
    div.setAttribute("data-role", cls);
    if (bot) { div.setAttribute("data-bot", bot); }
    if (who) {
      var name = document.createElement("span");
      name.className = cls === "user" ? "baton-sr" : "baton-who";
      name.setAttribute("data-baton", "who");
      name.textContent = who;
      div.appendChild(name);
    }
    var words = document.createElement("span");
    words.textContent = text;
    div.appendChild(words);
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function reply(m) {
    // sender: "bot", "human" (an operator) or "workflow" (the project's own messages)
    if (m.sender === "human" || m.role === "human") { add("human", "Agent", m.text); return; }
    add("bot", m.name || m.bot || title, m.text, m.bot);
  }
  function transfer(m) {
    var from = m.from_name || m.from, to = m.to_name || m.to;
    var note = from ? "Transferred from " + from + " to " + to : "Transferred to " + to;
    add("transfer", "", note, m.to);
  }
  function refused(frame, quiet) {
    var line = add("error", "Message refused", frame.message || "The message was not taken in.");
    if (!quiet) { line.setAttribute("role", "alert"); }  // not for the history's old ones
    if (frame.code) { line.setAttribute("data-code", frame.code); }
  }
  function show(frame) {
    // the user's own message, typed in another tab of this session (this tab drew its own)
    if (frame.type === "user") { if (!sentIds[frame.id]) { add("user", "You:", frame.text); } }
    else if (frame.type === "reply") { reply(frame); }
    else if (frame.type === "transfer") { transfer(frame); }
    else if (frame.type === "error") {
      // another tab's refusal comes with its message's id; this tab's own came already
      if (!(frame.pushed && sentIds[frame.id])) { refused(frame); }
    }
  }

  // The history frame redraws the log. Until it has come, what the user types is shown
  // and queued, then drawn again after it and sent; a refusal the server could not
  // answer with a frame (the socket closed on a too-large frame) is drawn again after it.
  // A message sent is kept until the server acknowledges it: one sent into a link that
  // died without a word yet is sent again, with its id, after the next history (which
  // names the ids it holds: the server drops a repeat of one it took in).
  var socket = null, ready = false, pending = [], carried = [], delay = 500, counter = 0;
  var sentIds = {}, unacked = {};
  function redraw(messages) {
    // busy while redrawn: screen readers don't read the whole history out again
    log.setAttribute("aria-busy", "true");
    log.textContent = "";
    var taken = {};
    messages.forEach(function (m) {
      if (m.role === "user") { add("user", "You:", m.text); if (m.id) { taken[m.id] = true; } }
      else if (m.role === "transfer") { transfer(m); }
      else if (m.role === "error") { refused(m, true); }
      else { reply(m); }
    });
    // cleared in a later task: the accessibility tree is updated after this one
    setTimeout(function () { log.removeAttribute("aria-busy"); }, 0);
    carried.forEach(function (frame) { refused(frame); });
    carried = [];
    var queued = pending, waiting = {};
    pending = [];
    queued.forEach(function (item) { waiting[item.id] = true; });
    Object.keys(unacked).forEach(function (id) {
      if (taken[id]) { delete unacked[id]; } else if (!waiting[id]) { queued.push(unacked[id]); }
    });
    queued.sort(function (a, b) { return a.n - b.n; });
    queued.forEach(function (item) { add("user", "You:", item.text); socket.send(item.frame); });
    ready = true;
  }
  function connect() {
    var scheme = base.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + base.host + "/channels/web/ws?session=" + session);
    stateEl.textContent = "connecting…";
    socket.onopen = function () {
      delay = 500;
      stateEl.textContent = "online";
      root.setAttribute("data-connected", "true");
    };
    socket.onmessage = function (msg) {
      var frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (frame.type === "history") { redraw(frame.messages); }
      else if (frame.type === "ack") { delete unacked[frame.id]; }
      else { show(frame); }
    };
    socket.onclose = function (event) {
      ready = false;
      root.setAttribute("data-connected", "false");
      if (event.code === 1009) {
        // the server closed on the largest message: it is not sent again
        var largest = null;
        Object.keys(unacked).forEach(function (id) {
          if (!largest || unacked[id].frame.length > largest.frame.length) { largest = unacked[id]; }
        });
        if (largest) { delete unacked[largest.id]; }
        var tooBig = { code: "body_too_large", message: "That message is too long to send." };
        refused(tooBig);
        carried.push(tooBig);
      }
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
    counter += 1;
    var id = session + "-" + Date.now() + "-" + counter;
    sentIds[id] = true;
    var item = { text: text, frame: JSON.stringify({ text: text, id: id }), id: id, n: counter };
    unacked[id] = item;
    add("user", "You:", text);
    // a closing socket drops what it is given without a word: queue until the next one
    if (ready && socket.readyState === 1) { socket.send(item.frame); }
    else { pending.push(item); }
  });

  function mount() { document.body.appendChild(root); toggle(!!startOpen); connect(); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
