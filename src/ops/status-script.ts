/**
 * The status page's script: polls /_proxy/status.json every 5 s, moves the countdowns every second. It builds every
 * element with textContent, never innerHTML: error messages and paths come from callers. STATUS_RENDER_JS is the
 * part that draws a report; the server runs the same code over a minimal DOM for the first view (status-html.ts).
 */

import { CALLERS_CARD_JS } from './status-callers.js'

export const STATUS_RENDER_JS = String.raw`  var POLL_MS = 5000;
  var report = null;
  var skewMs = 0;

  function el (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear (node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function pad (n) { return (n < 10 ? '0' : '') + n; }
  function clock (iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function duration (sec) {
    sec = Math.max(0, Math.floor(sec));
    var h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    if (h > 0) return h + ' h ' + pad(m) + ' min ' + pad(s) + ' s';
    if (m > 0) return m + ' min ' + pad(s) + ' s';
    return s + ' s';
  }
  function secondsUntil (iso) { return (Date.parse(iso) - (Date.now() + skewMs)) / 1000; }
  function when (iso) {
    if (!iso) return '—';
    var s = -secondsUntil(iso);
    return clock(iso) + (s >= 0 ? ' (' + duration(s) + ' ago)' : ' (in ' + duration(-s) + ')');
  }
  function countdown (iso, field) {
    var span = el('span', 'countdown');
    span.setAttribute('data-until', iso || '');
    span.setAttribute('data-field', field);
    span.textContent = iso ? duration(secondsUntil(iso)) : '—';
    return span;
  }
  function row (table, label, value, field) {
    var tr = el('tr'), th = el('th', null, label), td = el('td');
    if (field) td.setAttribute('data-field', field);
    if (value instanceof Node) td.appendChild(value); else td.textContent = value === null || value === undefined ? '—' : String(value);
    tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
  }
  function code (text) { return el('code', null, text); }
  function counts (obj) {
    var keys = Object.keys(obj);
    if (keys.length === 0) return '';
    return keys.sort().map(function (k) { return k + ' ×' + obj[k]; }).join(', ');
  }

  function tokenCard (p) {
    var t = p.token, card = el('div', 'card'), table = el('table', 'kv');
    card.appendChild(el('h3', null, 'Token'));
    row(table, 'Fingerprint', t.fingerprint ? code(t.fingerprint) : 'none held', 'fingerprint');
    row(table, 'Obtained at', when(t.obtainedAt), 'obtained-at');
    row(table, 'Expires in', countdown(t.expiresAt, 'expires-in'));
    row(table, 'Next refresh', t.nextRefreshAt ? clock(t.nextRefreshAt) + ' (in ' + duration(secondsUntil(t.nextRefreshAt)) + ')' : '—', 'next-refresh');
    row(table, 'Failed attempts', t.failures, 'failures');
    if (t.nextAttemptAt) row(table, 'Next attempt', when(t.nextAttemptAt), 'next-attempt');
    var last = t.lastError ? el('span', 'bad', t.lastError.code + ': ' + t.lastError.message) : 'none';
    row(table, 'Last error', last, 'last-error');
    if (t.lastError) row(table, 'Last error at', when(t.lastError.at), 'last-error-at');
    card.appendChild(table);
    return card;
  }

  function upstreamCard (p) {
    var card = el('div', 'card'), table = el('table', 'kv');
    card.appendChild(el('h3', null, 'Upstreams'));
    row(table, 'Issuer', code(p.upstreams.issuer), 'issuer');
    row(table, 'API origin', p.upstreams.api ? code(p.upstreams.api.origin) : 'not known yet', 'api-origin');
    row(table, 'API origin from', p.upstreams.api ? p.upstreams.api.from : '—', 'api-origin-from');
    var routed = p.routedUpstreams || {};
    Object.keys(routed).forEach(function (name) {
      var u = routed[name];
      var value = u.origin ? code(u.origin) : el('span', 'bad', u.problem ? u.problem.code + ': ' + u.problem.message : 'not known yet');
      row(table, 'Upstream ' + name, value, 'upstream-' + name);
    });
    card.appendChild(table);
    return card;
  }

  function trafficCard (p) {
    var tr = p.traffic, card = el('div', 'card'), total = 0, errors = 0, max = 1, calls = 0, spared = {};
    function sum (obj) { var n = 0; Object.keys(obj).forEach(function (k) { n += obj[k]; }); return n; }
    var quota = tr.quota || [];
    tr.minutes.forEach(function (m, i) {
      var q = quota[i] || { upstreamCalls: 0, spared: {} };
      total += m.requests;
      errors += sum(m.errors);
      calls += q.upstreamCalls;
      Object.keys(q.spared).forEach(function (k) { spared[k] = (spared[k] || 0) + q.spared[k]; });
      if (m.requests > max) max = m.requests;
    });
    card.appendChild(el('h3', null, 'Traffic, last ' + tr.windowMinutes + ' minutes'));
    var summary = el('p', 'muted', total + ' request' + (total === 1 ? '' : 's') + ', ' + errors + ' proxy error' + (errors === 1 ? '' : 's'));
    summary.setAttribute('data-field', 'traffic-summary');
    card.appendChild(summary);
    var line = el('p', 'muted', calls + ' call' + (calls === 1 ? '' : 's') + ' to CXone; spared: ' + (sum(spared) === 0 ? 'none' : counts(spared)));
    line.setAttribute('data-field', 'upstream-calls');
    card.appendChild(line);
    var chart = el('div', 'chart');
    tr.minutes.forEach(function (m) {
      // The bar's height is the minute's requests; its red part the share of them the proxy answered with an error.
      var failed = Math.min(m.requests, sum(m.errors)), col = el('span', failed > 0 ? 'col has-errors' : 'col');
      col.style.height = Math.max(2, Math.round((m.requests / max) * 100)) + '%';
      col.title = clock(m.start).slice(0, 5) + ': ' + m.requests + ' requests' + (failed > 0 ? ', ' + failed + ' failed' : '');
      if (failed > 0) {
        var share = el('span', 'fail');
        share.style.height = Math.max(1, Math.round((failed / Math.max(1, m.requests)) * 100)) + '%';
        share.setAttribute('data-failure-share', failed + '/' + m.requests);
        col.appendChild(share);
      }
      chart.appendChild(col);
    });
    card.appendChild(chart);
    var axis = el('div', 'axis');
    axis.appendChild(el('span', null, clock(tr.minutes[0].start).slice(0, 5)));
    axis.appendChild(el('span', null, 'now'));
    card.appendChild(axis);
    var busy = tr.minutes.map(function (m, i) { return { m: m, q: quota[i] || { upstreamCalls: 0, spared: {} } }; })
      .filter(function (x) { return x.m.requests > 0 || Object.keys(x.m.errors).length > 0; });
    if (busy.length === 0) return card;
    var wrap = el('div', 'scroll'), table = el('table', 'minutes'), head = el('tr');
    ['Minute', 'Requests', 'Calls to CXone', 'Spared', 'Statuses', 'Proxy errors'].forEach(function (h) { head.appendChild(el('th', null, h)); });
    table.appendChild(head);
    busy.reverse().forEach(function (x) {
      var r = el('tr'), m = x.m;
      r.appendChild(el('td', null, clock(m.start).slice(0, 5)));
      r.appendChild(el('td', 'num', m.requests));
      r.appendChild(el('td', 'num', x.q.upstreamCalls));
      r.appendChild(el('td', null, counts(x.q.spared)));
      r.appendChild(el('td', null, counts(m.statuses)));
      r.appendChild(el('td', 'bad', counts(m.errors)));
      table.appendChild(r);
    });
    wrap.appendChild(table);
    card.appendChild(wrap);
    return card;
  }

  function errorsCard (p) {
    var list = p.traffic.recentErrors, card = el('div', 'card');
    card.appendChild(el('h3', null, 'Last proxy errors (' + list.length + ')'));
    if (list.length === 0) { card.appendChild(el('p', 'muted', 'none')); return card; }
    var ol = el('ol', 'errors');
    list.forEach(function (e) {
      var li = el('li'), head = el('div', 'err-head');
      li.setAttribute('data-request-id', e.reqId);
      head.appendChild(el('span', 'status', e.status));
      head.appendChild(code(e.code));
      head.appendChild(el('span', 'muted', when(e.at)));
      li.appendChild(head);
      li.appendChild(el('div', null, e.method + ' ' + e.path));
      var id = el('div', 'muted', 'request id ');
      id.appendChild(code(e.reqId));
      li.appendChild(id);
      li.appendChild(el('div', 'err-msg', e.message));
      ol.appendChild(li);
    });
    card.appendChild(ol);
    return card;
  }

  function renderSettings (settings) {
    var table = document.getElementById('settings');
    clear(table);
    Object.keys(settings).forEach(function (key) {
      var v = settings[key];
      if (key === 'secrets') {
        Object.keys(v).forEach(function (name) { row(table, name, '•••••• (from ' + v[name] + ')', 'secret'); });
      } else if (key === 'inboundKeys') {
        row(table, 'inbound keys', v + ' (values hidden)', 'secret');
      } else if (v !== null && typeof v === 'object' && 'value' in v) {
        var cell = el('span');
        cell.appendChild(code(typeof v.value === 'object' ? JSON.stringify(v.value) : String(v.value)));
        cell.appendChild(el('span', 'muted', ' (' + v.from + ')'));
        row(table, key, cell, 'setting');
      } else {
        row(table, key, v === null ? 'none' : String(v), 'setting');
      }
    });
  }

  function render () {
    var root = document.getElementById('profiles');
    clear(root);
    report.profiles.forEach(function (p) {
      var section = el('section', 'profile'), h = el('h2', null, 'Profile ');
      section.setAttribute('data-profile', p.name);
      h.appendChild(code(p.name));
      var badge = el('span', 'badge ' + p.token.state, 'token ' + p.token.state);
      badge.setAttribute('data-field', 'token-state');
      h.appendChild(badge);
      section.appendChild(h);
      var grid = el('div', 'grid');
      grid.appendChild(tokenCard(p));
      grid.appendChild(upstreamCard(p));
      section.appendChild(grid);
      section.appendChild(trafficCard(p));
      if (p.callers) section.appendChild(callersCard(p));
      section.appendChild(errorsCard(p));
      root.appendChild(section);
    });
    renderSettings(report.settings);
  }
` + CALLERS_CARD_JS

const STATUS_LOADER_JS = String.raw`  function tick () {
    var spans = document.querySelectorAll('[data-until]');
    for (var i = 0; i < spans.length; i++) {
      var iso = spans[i].getAttribute('data-until');
      if (iso) spans[i].textContent = duration(secondsUntil(iso));
    }
  }

  function problem (text) {
    var p = document.getElementById('problem');
    p.hidden = text === null;
    p.textContent = text || '';
  }

  function load () {
    fetch('/_proxy/status.json', { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + r.status);
          return body;
        });
      })
      .then(function (body) {
        report = body;
        skewMs = Date.parse(body.now) - Date.now();
        render();
        problem(null);
        document.getElementById('updated').textContent = 'updated ' + clock(body.now) + ', every ' + POLL_MS / 1000 + ' s';
      })
      .catch(function (err) {
        problem('The proxy did not answer (' + err.message + ')' + (report ? ': the figures below are from ' + clock(report.now) + '.' : '.'));
      });
  }

  load();
  setInterval(load, POLL_MS);
  setInterval(tick, 1000);
`

export const STATUS_JS = `'use strict';\n(function () {\n${STATUS_RENDER_JS}${STATUS_LOADER_JS}})();\n`
