'use strict';
// Portier's dashboard: renders the API's raw data and re-renders on every
// server-sent `state` event. Data goes into the page as text nodes only.
(function () {
  var state = { rawdata: { routers: {}, services: {}, middlewares: {} }, overview: null, entrypoints: [], certificates: [], cluster: [] };
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

  function values(map) { return Object.keys(map || {}).sort().map(function (name) { return map[name]; }); }
  function tlsCell(tls) {
    if (!tls) return '';
    if (tls.passthrough) return 'passthrough';
    return tls.certResolver ? 'resolver ' + tls.certResolver : 'yes';
  }

  // HTTP and TCP routers share their columns; `kind` names the row's data attribute (data-router, data-tcp-router).
  function renderRouters(tableId, rows, kind) {
    fill(tableId, rows, function (r) {
      var attrs = { class: r.status, 'data-status': r.status };
      attrs['data-' + kind] = r.name;
      return el('tr', attrs, [
        el('td', {}, [pill(r.status)]),
        el('td', {}, [el('strong', { text: r.name })].concat(errors(r))),
        el('td', {}, [el('code', { text: r.rule || '' })]),
        el('td', { text: list(r.entryPoints) }),
        el('td', { text: list(r.middlewares) }),
        el('td', { text: r.service || '' }),
        el('td', { text: tlsCell(r.tls) }),
        el('td', { text: r.provider === 'internal' ? 'internal' : String(r.priority) }),
      ]);
    }, 8);
  }

  // HTTP, TCP and UDP services alike: servers by URL or address, each UP or DOWN.
  function renderServices(tableId, rows, kind) {
    fill(tableId, rows, function (s) {
      var servers = Object.keys(s.serverStatus || {}).map(function (server) {
        return el('span', { class: 'server', 'data-server': server }, [pill(s.serverStatus[server]), ' ', el('code', { text: server })]);
      });
      var attrs = { class: s.status, 'data-status': s.status };
      attrs['data-' + kind] = s.name;
      return el('tr', attrs, [
        el('td', {}, [pill(s.status)]),
        el('td', {}, [el('strong', { text: s.name })].concat(errors(s))),
        el('td', { text: s.type || '' }),
        el('td', {}, servers.length ? servers : ['—']),
        el('td', { text: list(s.usedBy) }),
      ]);
    }, 5);
  }

  function renderMiddlewares(tableId, rows, kind) {
    fill(tableId, rows, function (m) {
      var attrs = { class: m.status, 'data-status': m.status };
      attrs['data-' + kind] = m.name;
      return el('tr', attrs, [
        el('td', {}, [pill(m.status)]),
        el('td', {}, [el('strong', { text: m.name })].concat(errors(m))),
        el('td', { text: m.type || '' }),
        el('td', { text: list(m.usedBy) }),
      ]);
    }, 4);
  }

  function renderUdpRouters() {
    fill('udp-routers', values(state.rawdata.udpRouters), function (r) {
      var stats = r.stats || {};
      return el('tr', { class: r.status, 'data-udp-router': r.name, 'data-status': r.status }, [
        el('td', {}, [pill(r.status)]),
        el('td', {}, [el('strong', { text: r.name })].concat(errors(r))),
        el('td', { text: list(r.using && r.using.length ? r.using : r.entryPoints) }),
        el('td', { text: r.service || '' }),
        el('td', { text: (stats.sessions || 0) + ' sessions · ' + (stats.datagramsIn || 0) + ' in · ' + (stats.datagramsOut || 0) + ' out' }),
      ]);
    }, 5);
  }

  function renderOverview() {
    var o = state.overview;
    var box = document.getElementById('overview');
    if (!o) return;
    function card(proto, kind) {
      var c = (o[proto] || {})[kind] || { total: 0, warnings: 0, errors: 0 };
      return el('div', { class: 'card', 'data-card': proto === 'http' ? kind : proto + '-' + kind }, [
        el('div', { class: 'sub', text: proto.toUpperCase() + ' ' + kind }),
        el('div', { class: 'n', text: String(c.total) }),
        el('div', { class: 'sub' }, [el('b', { class: c.warnings ? 'warn' : '', text: String(c.warnings) }), ' warnings · ', el('b', { class: c.errors ? 'bad' : '', text: String(c.errors) }), ' errors']),
      ]);
    }
    var cards = [['http', 'routers'], ['http', 'services'], ['http', 'middlewares'], ['tcp', 'routers'], ['tcp', 'services'], ['udp', 'routers'], ['udp', 'services']];
    box.replaceChildren.apply(box, cards.map(function (pc) { return card(pc[0], pc[1]); }).concat([el('div', { class: 'card' }, [el('div', { class: 'sub', text: 'Providers' }), el('div', { text: list(o.providers) }), el('div', { class: 'sub', text: 'metrics: ' + (o.features.metrics || 'off') + ' · access log: ' + (o.features.accessLog ? 'on' : 'off') })])]));
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

  // Instances sharing an ACME store (docs/acme-cluster.md): one row each, with the issuance locks it holds.
  function renderCluster() {
    var rows = [];
    state.cluster.forEach(function (store) {
      store.instances.forEach(function (i) { rows.push({ storage: store.storage, error: store.error, instance: i }); });
    });
    document.getElementById('cluster-section').hidden = state.cluster.length === 0;
    fill('cluster', rows, function (r) {
      var i = r.instance;
      var problems = [r.error, i.lastError].filter(Boolean).map(function (e) { return el('div', { class: 'error', text: e }); });
      return el('tr', { 'data-instance': i.id }, [
        el('td', {}, [el('code', { text: r.storage })]),
        el('td', {}, [el('strong', { text: i.id })].concat(problems)),
        el('td', { text: i.hostname + ' (pid ' + i.pid + ')' }),
        el('td', { text: new Date(i.started).toISOString().slice(0, 19).replace('T', ' ') }),
        el('td', { text: list(i.locks) || '—' }),
      ]);
    }, 5);
  }

  function render() {
    renderOverview();
    var raw = state.rawdata;
    renderRouters('routers', values(raw.routers), 'router');
    renderServices('services', values(raw.services), 'service');
    renderMiddlewares('middlewares', values(raw.middlewares), 'middleware');
    renderRouters('tcp-routers', values(raw.tcpRouters), 'tcp-router');
    renderServices('tcp-services', values(raw.tcpServices), 'tcp-service');
    renderMiddlewares('tcp-middlewares', values(raw.tcpMiddlewares), 'tcp-middleware');
    renderUdpRouters();
    renderServices('udp-services', values(raw.udpServices), 'udp-service');
    renderEntryPoints();
    renderCertificates();
    renderCluster();
  }

  function refreshTls() {
    return Promise.all([
      getJson('../api/tls/certificates').then(function (certs) { state.certificates = Array.isArray(certs) ? certs : []; }),
      getJson('../api/tls/cluster').then(function (cluster) { state.cluster = Array.isArray(cluster) ? cluster : []; }),
    ]);
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
      refreshTls().then(render, render);
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
