'use strict';
// Portier's dashboard: renders the API's raw data and re-renders on every
// server-sent `state` event. Data goes into the page as text nodes only.
(function () {
  var state = { rawdata: { routers: {}, services: {}, middlewares: {} }, overview: null, entrypoints: [], certificates: [] };
  var search = document.getElementById('search');

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function pill(status) { return el('span', { class: 'pill ' + status, text: status }); }
  function list(items) { return (items || []).join(', '); }

  function getJson(path) {
    return fetch(path, { headers: { accept: 'application/json' } }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }

  function matches(row) {
    var q = search.value.trim().toLowerCase();
    return !q || JSON.stringify(row).toLowerCase().indexOf(q) >= 0;
  }

  function fill(tableId, rows, render, columns) {
    var body = document.querySelector('#' + tableId + ' tbody');
    var shown = rows.filter(matches);
    body.replaceChildren.apply(body, shown.length ? shown.map(render) : [el('tr', { class: 'empty' }, [el('td', { colspan: String(columns), text: rows.length ? 'nothing matches the filter' : 'none' })])]);
    var count = document.getElementById(tableId + '-count');
    if (count) count.textContent = shown.length === rows.length ? '(' + rows.length + ')' : '(' + shown.length + ' of ' + rows.length + ')';
  }

  function errors(item) {
    return (item.error || []).map(function (e) { return el('div', { class: 'error', text: e }); });
  }

  function renderRouters() {
    var rows = Object.keys(state.rawdata.routers || {}).sort().map(function (name) { return state.rawdata.routers[name]; });
    fill('routers', rows, function (r) {
      return el('tr', { class: r.status, 'data-router': r.name, 'data-status': r.status }, [
        el('td', {}, [pill(r.status)]),
        el('td', {}, [el('strong', { text: r.name })].concat(errors(r))),
        el('td', {}, [el('code', { text: r.rule || '' })]),
        el('td', { text: list(r.entryPoints) }),
        el('td', { text: list(r.middlewares) }),
        el('td', { text: r.service || '' }),
        el('td', { text: r.tls ? (r.tls.certResolver ? 'resolver ' + r.tls.certResolver : 'yes') : '' }),
        el('td', { text: r.provider === 'internal' ? 'internal' : String(r.priority) }),
      ]);
    }, 8);
  }

  function renderServices() {
    var rows = Object.keys(state.rawdata.services || {}).sort().map(function (name) { return state.rawdata.services[name]; });
    fill('services', rows, function (s) {
      var servers = Object.keys(s.serverStatus || {}).map(function (url) {
        return el('span', { class: 'server', 'data-server': url }, [pill(s.serverStatus[url]), ' ', el('code', { text: url })]);
      });
      return el('tr', { class: s.status, 'data-service': s.name, 'data-status': s.status }, [
        el('td', {}, [pill(s.status)]),
        el('td', {}, [el('strong', { text: s.name })].concat(errors(s))),
        el('td', { text: s.type || '' }),
        el('td', {}, servers.length ? servers : ['—']),
        el('td', { text: list(s.usedBy) }),
      ]);
    }, 5);
  }

  function renderMiddlewares() {
    var rows = Object.keys(state.rawdata.middlewares || {}).sort().map(function (name) { return state.rawdata.middlewares[name]; });
    fill('middlewares', rows, function (m) {
      return el('tr', { class: m.status, 'data-middleware': m.name }, [
        el('td', {}, [pill(m.status)]),
        el('td', {}, [el('strong', { text: m.name })].concat(errors(m))),
        el('td', { text: m.type || '' }),
        el('td', { text: list(m.usedBy) }),
      ]);
    }, 4);
  }

  function renderUdp() {
    var routers = state.rawdata.udpRouters || {};
    fill('udp-routers', Object.keys(routers).sort().map(function (name) { return routers[name]; }), function (r) {
      var stats = r.stats || {};
      return el('tr', { class: r.status, 'data-udp-router': r.name, 'data-status': r.status }, [
        el('td', {}, [pill(r.status)]),
        el('td', {}, [el('strong', { text: r.name })].concat(errors(r))),
        el('td', { text: list(r.using && r.using.length ? r.using : r.entryPoints) }),
        el('td', { text: r.service || '' }),
        el('td', { text: (stats.sessions || 0) + ' sessions · ' + (stats.datagramsIn || 0) + ' in · ' + (stats.datagramsOut || 0) + ' out' }),
      ]);
    }, 5);
    var services = state.rawdata.udpServices || {};
    fill('udp-services', Object.keys(services).sort().map(function (name) { return services[name]; }), function (s) {
      var servers = Object.keys(s.serverStatus || {}).map(function (address) {
        return el('span', { class: 'server', 'data-server': address }, [pill(s.serverStatus[address]), ' ', el('code', { text: address })]);
      });
      return el('tr', { class: s.status, 'data-udp-service': s.name, 'data-status': s.status }, [
        el('td', {}, [pill(s.status)]),
        el('td', {}, [el('strong', { text: s.name })].concat(errors(s))),
        el('td', { text: s.type || '' }),
        el('td', {}, servers.length ? servers : ['—']),
        el('td', { text: list(s.usedBy) }),
      ]);
    }, 5);
  }

  function renderOverview() {
    var o = state.overview;
    var box = document.getElementById('overview');
    if (!o) return;
    box.replaceChildren.apply(box, ['routers', 'services', 'middlewares'].map(function (kind) {
      var c = o.http[kind];
      return el('div', { class: 'card', 'data-card': kind }, [
        el('div', { class: 'sub', text: 'HTTP ' + kind }),
        el('div', { class: 'n', text: String(c.total) }),
        el('div', { class: 'sub' }, [el('b', { class: c.warnings ? 'warn' : '', text: String(c.warnings) }), ' warnings · ', el('b', { class: c.errors ? 'bad' : '', text: String(c.errors) }), ' errors']),
      ]);
    }).concat(['routers', 'services'].map(function (kind) {
      var c = o.udp[kind];
      return el('div', { class: 'card', 'data-card': 'udp-' + kind }, [
        el('div', { class: 'sub', text: 'UDP ' + kind }),
        el('div', { class: 'n', text: String(c.total) }),
        el('div', { class: 'sub' }, [el('b', { class: c.warnings ? 'warn' : '', text: String(c.warnings) }), ' warnings · ', el('b', { class: c.errors ? 'bad' : '', text: String(c.errors) }), ' errors']),
      ]);
    })).concat([el('div', { class: 'card' }, [el('div', { class: 'sub', text: 'Providers' }), el('div', { text: list(o.providers) }), el('div', { class: 'sub', text: 'metrics: ' + (o.features.metrics || 'off') + ' · access log: ' + (o.features.accessLog ? 'on' : 'off') })])]));
  }

  function renderEntryPoints() {
    fill('entrypoints', state.entrypoints, function (e) {
      return el('tr', { 'data-entrypoint': e.name }, [el('td', {}, [el('strong', { text: e.name })]), el('td', {}, [el('code', { text: e.address })]), el('td', { text: (e.http && e.http.tls) || e.name === 'websecure' ? 'yes' : '' })]);
    }, 3);
  }

  function renderCertificates() {
    fill('certificates', state.certificates, function (c) {
      var days = Math.floor((new Date(c.notAfter).getTime() - Date.now()) / 86400000);
      return el('tr', { 'data-certificate': (c.domains || [])[0] || '' }, [
        // A failed renewal stays visible next to the certificate that still serves.
        el('td', {}, [list(c.domains)].concat(c.lastError ? [el('div', { class: 'error', 'data-renewal-error': '', text: 'renewal failed: ' + c.lastError })] : [])),
        el('td', { text: (c.resolver || '') + (c.challenges && c.challenges.length ? ' (' + c.challenges.join(', ') + ')' : '') }),
        el('td', { text: new Date(c.notAfter).toISOString().slice(0, 10) }),
        el('td', {}, [pill(c.status || (days < 0 ? 'expired' : 'valid')), ' ', String(days)]),
      ]);
    }, 4);
  }

  function render() {
    renderOverview();
    renderRouters();
    renderServices();
    renderMiddlewares();
    renderUdp();
    renderEntryPoints();
    renderCertificates();
  }

  function refreshCertificates() {
    return getJson('../api/tls/certificates').then(function (certs) { state.certificates = Array.isArray(certs) ? certs : []; });
  }

  function connect() {
    var live = document.getElementById('live');
    var source = new EventSource('../api/events');
    source.addEventListener('state', function (ev) {
      var data = JSON.parse(ev.data);
      state.rawdata = data.rawdata;
      state.overview = data.overview;
      live.textContent = 'live';
      live.className = 'pill on';
      refreshCertificates().then(render, render);
    });
    source.onerror = function () {
      live.textContent = 'reconnecting';
      live.className = 'pill off';
    };
  }

  search.addEventListener('input', render);
  getJson('../api/version').then(function (v) { if (v) document.getElementById('version').textContent = 'v' + v.Version; });
  getJson('../api/entrypoints').then(function (eps) { state.entrypoints = eps || []; render(); });
  connect();
})();
