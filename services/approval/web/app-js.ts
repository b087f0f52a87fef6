/**
 * The reviewer page's script (plain ES2020, no build step; served as `/app.js`). Rules it keeps:
 * - every value from the API goes into the DOM with `textContent` / attributes set by the DOM API, never as HTML;
 * - with web login on, the reviewer is the session's (an HttpOnly cookie the script never sees; `/auth/me` says who);
 * - else a pasted token lives in `sessionStorage` only, and is sent as `Authorization: Bearer` to this origin only;
 * - live updates come from `GET /v1/events` (server-sent events read with `fetch`, so the token stays in a header),
 *   with polling every 15 s as the fallback.
 * (Kept free of template literals: it is itself a TypeScript template string. unit-tested to compile.)
 */
export const APP_JS = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'gatehouse.approvals.token';
  var state = 'pending';
  var focusId = null;
  var cards = new Map();
  var streamAbort = null;
  var pollTimer = null;
  var backoff = 1000;
  var session = null;

  var m = /^\/approvals\/([^/]+)\/?$/.exec(location.pathname);
  if (m) { focusId = decodeURIComponent(m[1]); }
  var params = new URLSearchParams(location.search);
  if (params.get('id')) { focusId = params.get('id'); }

  function $(id) { return document.getElementById(id); }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
  function authed() { return !!token() || !!session; }
  function authHeaders(extra) {
    var h = extra || {};
    if (token()) { h['authorization'] = 'Bearer ' + token(); }
    return h;
  }
  function credentials() { return token() ? 'omit' : 'same-origin'; }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') { node.textContent = attrs[k]; }
        else if (k === 'className') { node.className = attrs[k]; }
        else { node.setAttribute(k, attrs[k]); }
      });
    }
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function say(text, ok) {
    var msg = $('message');
    msg.textContent = text || '';
    msg.className = ok ? 'ok' : '';
  }
  function who(p) {
    if (!p) { return 'nobody'; }
    return (p.email || p.sub) + (p.agent ? ' (AI agent)' : '');
  }
  function when(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }
  function left(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    if (!(ms > 0)) { return 'expired'; }
    var s = Math.round(ms / 1000);
    return s >= 120 ? Math.round(s / 60) + ' min left' : s + ' s left';
  }

  function api(method, path, body) {
    var headers = authHeaders({ 'x-gatehouse-client': 'web' });
    var init = { method: method, headers: headers, cache: 'no-store', credentials: credentials() };
    if (body !== undefined) { headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var err = new Error((data && data.error && data.error.message) || ('HTTP ' + res.status));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  function row(dl, label, value) {
    dl.appendChild(el('dt', { text: label }));
    dl.appendChild(el('dd', { text: value }));
  }

  function render(a) {
    var card = el('article', { className: 'card' + (a.id === focusId ? ' focus' : ''), 'data-approval-id': a.id });
    var title = el('h2', null, [
      el('span', { className: 'state ' + a.state, 'data-field': 'state', text: a.state }),
      el('span', { text: who(a.requester) }),
      a.requester.agent ? el('span', { className: 'badge', text: 'agent' }) : null,
      el('span', { text: 'on ' + a.connection.name + ' (' + a.protocol + ')' })
    ]);
    card.appendChild(title);
    var dl = el('dl');
    row(dl, 'Why', a.reasons.join('; ') || '(no reason given)');
    row(dl, 'Approvers', a.groups.join(', ') + ' - ' + a.approvals.length + ' of ' + a.approvalsNeeded + ' approvals');
    row(dl, 'Requested', when(a.requestedAt));
    row(dl, 'Expires', when(a.expiresAt) + (a.state === 'pending' ? ' (' + left(a.expiresAt) + ')' : ''));
    if (a.reuseSeconds > 0) { row(dl, 'Reuse', 'the same request may run again for ' + a.reuseSeconds + ' s after approval'); }
    row(dl, 'Session', a.sessionId + ' on ' + a.nodeId);
    row(dl, 'Approval id', a.id);
    if (a.approvals.length > 0) {
      row(dl, 'Approved by', a.approvals.map(function (x) { return who(x.reviewer); }).join(', '));
    }
    if (a.decision) {
      row(dl, 'Decision', a.decision.outcome + (a.decision.reviewer ? ' by ' + who(a.decision.reviewer) : '') +
        ' at ' + when(a.decision.at) + (a.decision.reason ? ': ' + a.decision.reason : ''));
    }
    card.appendChild(dl);
    card.appendChild(el('pre', { className: 'statement', 'data-field': 'statement', text: a.request.text }));
    if (a.state === 'pending') {
      var reason = el('textarea', { 'data-field': 'reason', placeholder: 'reason (required to reject)', maxlength: '2000' });
      var approve = el('button', { type: 'button', className: 'approve', 'data-action': 'approve', text: 'Approve' });
      var reject = el('button', { type: 'button', className: 'reject', 'data-action': 'reject', text: 'Reject' });
      approve.addEventListener('click', function () { decide(a.id, 'approve', reason.value, [approve, reject]); });
      reject.addEventListener('click', function () {
        if (!reason.value.trim()) { say('A rejection requires a reason.'); reason.focus(); return; }
        decide(a.id, 'reject', reason.value, [approve, reject]);
      });
      card.appendChild(el('div', { className: 'actions' }, [reason, approve, reject]));
    }
    var history = el('ol', { className: 'history' });
    a.history.forEach(function (h) {
      var text = when(h.at) + ' ' + h.kind + (h.actor ? ' by ' + who(h.actor) : '') +
        (h.verdict ? ': ' + h.verdict : '') + (h.outcome ? ': ' + h.outcome : '') + (h.reason ? ' - ' + h.reason : '') +
        (h.ignored ? ' (ignored: ' + h.ignored + ')' : '');
      history.appendChild(el('li', { className: h.ignored ? 'ignored' : '', text: text }));
    });
    card.appendChild(el('details', null, [el('summary', { text: 'History' }), history]));
    return card;
  }

  function matches(a) { return state === 'all' || a.state === state || a.id === focusId; }

  function upsert(a) {
    var main = $('approvals');
    var old = cards.get(a.id);
    if (!matches(a)) {
      if (old) { old.remove(); cards.delete(a.id); }
      showEmpty();
      return;
    }
    var card = render(a);
    if (old) {
      var typing = old.querySelector('textarea');
      var fresh = card.querySelector('textarea');
      if (typing && fresh) { fresh.value = typing.value; }
      old.replaceWith(card);
    } else {
      var empty = main.querySelector('.empty');
      if (empty) { empty.remove(); }
      main.insertBefore(card, main.firstChild);
    }
    cards.set(a.id, card);
  }

  function showEmpty() {
    var main = $('approvals');
    if (cards.size === 0 && !main.querySelector('.empty')) {
      main.appendChild($('empty').content.cloneNode(true));
    }
  }

  function load() {
    if (!authed()) { say('Log in or paste your access token to see approvals.'); return Promise.resolve(); }
    var list = api('GET', '/v1/approvals?state=' + encodeURIComponent(state) + '&limit=200');
    var focus = focusId ? api('GET', '/v1/approvals/' + encodeURIComponent(focusId)).catch(function (e) {
      say(e.message);
      return null;
    }) : Promise.resolve(null);
    return Promise.all([list, focus]).then(function (results) {
      var main = $('approvals');
      cards.clear();
      main.textContent = '';
      var items = results[0].approvals.slice().reverse();
      if (results[1] && results[1].approval) {
        var f = results[1].approval;
        items = items.filter(function (x) { return x.id !== f.id; });
        items.push(f);
      }
      items.forEach(upsert);
      showEmpty();
    }).catch(function (e) {
      say(e.status === 401 ? 'Your token was not accepted: ' + e.message : e.message);
    });
  }

  function decide(id, verdict, reason, buttons) {
    buttons.forEach(function (b) { b.disabled = true; });
    say(verdict === 'approve' ? 'Approving...' : 'Rejecting...', true);
    api('POST', '/v1/approvals/' + encodeURIComponent(id) + '/' + verdict, { reason: reason })
      .then(function (data) {
        upsert(data.approval);
        say(data.approval.state === 'pending' ? 'Recorded; waiting for more approvals.' : 'The request is ' + data.approval.state + '.', true);
      })
      .catch(function (e) {
        say(e.message);
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  function setLive(on) {
    var live = $('live');
    live.textContent = on ? 'live' : 'offline';
    live.className = on ? 'on' : '';
  }

  function handleSse(block) {
    var event = 'message';
    var data = '';
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event:') === 0) { event = line.slice(6).trim(); }
      else if (line.indexOf('data:') === 0) { data += line.slice(5).trim(); }
    });
    if (event === 'approval' && data) {
      try { upsert(JSON.parse(data).approval); } catch (e) { /* ignore a malformed event */ }
    }
  }

  function stream() {
    if (streamAbort) { streamAbort.abort(); }
    if (!authed()) { return; }
    var ctrl = new AbortController();
    streamAbort = ctrl;
    fetch('/v1/events', { headers: authHeaders({ 'accept': 'text/event-stream' }), signal: ctrl.signal, cache: 'no-store', credentials: credentials() })
      .then(function (res) {
        if (!res.ok || !res.body) { throw new Error('HTTP ' + res.status); }
        setLive(true);
        backoff = 1000;
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buf = '';
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) { throw new Error('stream ended'); }
            buf += decoder.decode(r.value, { stream: true });
            var i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              handleSse(buf.slice(0, i));
              buf = buf.slice(i + 2);
              if (buf.length > 1048576) { buf = ''; }
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        setLive(false);
        if (ctrl.signal.aborted) { return; }
        setTimeout(stream, backoff);
        backoff = Math.min(backoff * 2, 30000);
      });
  }

  function poll() {
    if (pollTimer) { clearInterval(pollTimer); }
    pollTimer = setInterval(function () {
      if (!$('live').classList.contains('on')) { load(); }
    }, 15000);
  }

  function start() {
    $('token').value = '';
    $('whoami').textContent = token() ? 'token stored for this tab' : session ? 'signed in as ' + who(session) : '';
    $('logout').hidden = !session;
    load().then(stream);
    poll();
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = $('token').value.trim();
      if (!t) { return; }
      sessionStorage.setItem(TOKEN_KEY, t);
      say('');
      start();
    });
    $('token-forget').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      if (streamAbort) { streamAbort.abort(); }
      cards.clear();
      $('approvals').textContent = '';
      $('whoami').textContent = '';
      setLive(false);
      say('Token forgotten.', true);
    });
    $('logout').addEventListener('click', function () {
      fetch('/auth/logout', { method: 'POST', credentials: 'same-origin', cache: 'no-store' }).then(function () {
        location.reload();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('#filters button'), function (b) {
      b.addEventListener('click', function () {
        state = b.getAttribute('data-state');
        Array.prototype.forEach.call(document.querySelectorAll('#filters button'), function (x) {
          x.classList.toggle('active', x === b);
        });
        load();
      });
    });
    fetch('/auth/me', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .catch(function () { return null; })
      .then(function (me) { session = me; start(); });
  });
})();
`;
