/**
 * The status page's callers card (issue 22): one row per named caller of a profile, drawn by the same code on the
 * server and in the browser (status-script.ts takes it in). Names are configured; nothing here is a key or a token.
 */
export const CALLERS_CARD_JS = String.raw`
  function callersCard (p) {
    var card = el('div', 'card');
    card.setAttribute('data-field', 'callers');
    card.appendChild(el('h3', null, 'Callers'));
    var wrap = el('div', 'scroll'), table = el('table', 'minutes'), head = el('tr');
    ['Caller', 'Requests', 'Calls to CXone', 'Spared', 'Refused', 'Over its share', 'Shadow refusals', '429 from CXone', 'Last seen'].forEach(function (h) { head.appendChild(el('th', null, h)); });
    table.appendChild(head);
    p.callers.forEach(function (c) {
      var r = el('tr');
      r.setAttribute('data-caller', c.caller);
      r.appendChild(el('td', null, c.caller));
      [c.requests, c.upstreamCalls, c.spared, c.refusals, c.rateLimited, c.shadowRefusals, c.cxone429].forEach(function (n) { r.appendChild(el('td', 'num', n)); });
      r.appendChild(el('td', null, c.lastSeen === null ? 'never' : when(c.lastSeen)));
      table.appendChild(r);
    });
    wrap.appendChild(table);
    card.appendChild(wrap);
    return card;
  }
`
