// Vetrina brand console: a small single-page client of the JSON API. No
// build step, no dependency, nothing loaded from elsewhere. The API token
// lives in sessionStorage (this tab only) and goes out as a bearer token;
// the API's scopes decide what the page may see.
'use strict';
(() => {
  const TOKEN_KEY = 'vetrina.console.token';
  const BRAND_KEY = 'vetrina.console.brand';
  const PLAN_KEY = 'vetrina.console.plan';
  const PAGE = 20;
  const SVGNS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    me: null,
    brand: 0,
    brandName: '',
    view: '',
    find: { key: null, items: [], next: '', matched: 0, note: '', loading: false },
    candidates: new Map(), // `${brand}:${influencer}` → ranking candidate
    categories: new Set(),
    countries: new Set(),
    firstRows: false,
    seq: 0,
    retryTimer: 0,
  };

  // ---- helpers -------------------------------------------------------

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  function s(tag, attrs, ...children) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) e.append(c);
    return e;
  }

  const eur0 = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 });
  const int0 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  const eur = (v) => eur0.format(v || 0);
  const eurShort = (v) => (Math.abs(v || 0) < 1000 ? eur0.format(v || 0) : '€' + compact.format(v));
  const num = (v) => int0.format(v || 0);
  const dec = (v, d = 2) => (v === null || v === undefined || !isFinite(v) ? '–' : Number(v).toFixed(d));
  const pct = (v, d = 1) => (v === null || v === undefined || !isFinite(v) ? '–' : (100 * v).toFixed(d) + '%');
  const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;
  const times = (v) => '×' + dec(v, 2);
  const date = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  const dateTime = (iso) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

  function status(msg) { $('status').textContent = msg; }

  class ApiError extends Error {
    constructor(status, title, detail, retryAfter) {
      super(title + (detail ? ': ' + detail : ''));
      this.status = status; this.title = title; this.detail = detail; this.retryAfter = retryAfter;
    }
  }

  // api calls the JSON API (relative to /console/, so a path prefix in
  // front of the server keeps working). Errors are the problem document's
  // title and detail.
  async function api(method, path, body, quiet) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp;
    try {
      resp = await fetch('../' + path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'The server did not answer', 'check that vetrina is running and reachable (' + e.message + ')');
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const title = (data && data.title) || (resp.status + ' ' + resp.statusText);
      const detail = (data && data.detail) || '';
      const err = new ApiError(resp.status, title, detail, Number(resp.headers.get('Retry-After')) || 0);
      if (resp.status === 401 && path !== 'v1/me' && !quiet) signOut(err); // revoked or expired meanwhile
      throw err;
    }
    return data;
  }

  function showError(el, err, extra) {
    el.replaceChildren(...[
      h('strong', { text: err.title || 'Error' }),
      err.detail ? h('span', { text: ' — ' + err.detail }) : null,
      err.status ? h('span', { class: 'muted', text: ' (HTTP ' + err.status + ')' }) : null,
      extra].filter(Boolean));
    el.hidden = false;
  }

  function hideError(el) { el.hidden = true; el.replaceChildren(); }

  // interval draws P10–P50–P90 of a prediction on a scale of 0..max.
  function interval(p, max, width = 170) {
    const H = 30, pad = 4, w = width - 2 * pad;
    const x = (v) => pad + w * Math.max(0, Math.min(1, (v || 0) / (max || 1)));
    const label = `Predicted GMV: P10 ${eur(p.p10)}, median ${eur(p.p50)}, P90 ${eur(p.p90)}`;
    return s('svg', { class: 'interval', viewBox: `0 0 ${width} ${H}`, width, height: H, role: 'img', 'aria-label': label },
      s('title', { text: label }),
      s('line', { class: 'axis', x1: pad, x2: width - pad, y1: 22, y2: 22 }),
      s('rect', { class: 'band', x: x(p.p10), y: 8, width: Math.max(1, x(p.p90) - x(p.p10)), height: 10, rx: 3 }),
      s('line', { class: 'p10', x1: x(p.p10), x2: x(p.p10), y1: 5, y2: 21 }),
      s('line', { class: 'p90', x1: x(p.p90), x2: x(p.p90), y1: 5, y2: 21 }),
      s('circle', { class: 'p50', cx: x(p.p50), cy: 13, r: 4 }));
  }

  function intervalCell(p, max) {
    return [interval(p, max), h('div', { class: 'interval-text' },
      h('span', { class: 'q', title: 'P10: exceeded in 9 lives of 10', text: eurShort(p.p10) }), ' · ',
      h('strong', { title: 'P50: the median', text: eurShort(p.p50) }), ' · ',
      h('span', { class: 'q', title: 'P90: exceeded in 1 live of 10', text: eurShort(p.p90) }))];
  }

  function influencerLink(id, handle) {
    return h('a', { href: '#/influencer/' + id, class: 'handle' }, '@' + (handle || id));
  }

  // ---- sign-in -------------------------------------------------------

  async function signIn(token) {
    state.token = token;
    const me = await api('GET', 'v1/me');
    if (!me.admin && (!me.brands || me.brands.length === 0)) {
      state.token = '';
      throw new ApiError(403, 'Not a brand token',
        `token “${me.name}” has scopes [${(me.scopes || []).join(', ')}]; the console needs a token with a brand scope (brand:<id>). Ask for one made with \`vetrina token --scopes brand:<id>\`.`);
    }
    state.me = me;
    sessionStorage.setItem(TOKEN_KEY, token);
    const saved = Number(sessionStorage.getItem(BRAND_KEY));
    state.brand = me.admin ? (saved || 1) : (me.brands.includes(saved) ? saved : me.brands[0]);
    setupHeader();
  }

  function signOut(err) {
    for (const k of [TOKEN_KEY, BRAND_KEY, PLAN_KEY]) sessionStorage.removeItem(k);
    state.planFilled = false;
    state.token = ''; state.me = null; state.brand = 0; state.prefetch = null;
    state.find = { key: null, items: [], next: '', matched: 0, note: '', loading: false };
    state.candidates.clear();
    $('nav').hidden = true; $('who').hidden = true;
    $('token').value = '';
    if (err) showError($('signin-error'), { title: 'Signed out', detail: err.title + (err.detail ? ': ' + err.detail : '') });
    else hideError($('signin-error'));
    status(err ? 'Signed out: the token is no longer valid.' : 'Signed out.');
    show('signin');
  }

  function setupHeader() {
    const me = state.me;
    $('nav').hidden = false; $('who').hidden = false;
    $('who-name').textContent = me.name;
    const sel = $('brand-select'), inp = $('brand-input');
    if (me.admin) {
      sel.hidden = true; inp.hidden = false; inp.value = state.brand;
      document.querySelector('.brand-label').htmlFor = 'brand-input';
    } else {
      inp.hidden = true; sel.hidden = false;
      document.querySelector('.brand-label').htmlFor = 'brand-select';
      sel.replaceChildren(...me.brands.map((b) => h('option', { value: b, text: 'brand ' + b })));
      sel.value = String(state.brand);
      sel.disabled = me.brands.length < 2;
    }
    sessionStorage.setItem(BRAND_KEY, String(state.brand));
  }

  function changeBrand(id) {
    if (!id || id === state.brand) return;
    state.brand = id; state.brandName = '';
    sessionStorage.setItem(BRAND_KEY, String(id));
    state.find.key = null;
    $('plan-result').hidden = true;
    route();
  }

  // ---- views ---------------------------------------------------------

  function show(view) {
    const changed = state.view !== view;
    state.view = view;
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.view === view || (view === 'influencer' && a.dataset.view === 'find')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = { signin: 'Sign in', find: 'Find influencers', influencer: 'Influencer', plan: 'Plan' }[view] + ' · Vetrina brand console';
    if (changed && state.started) {
      const h1 = document.querySelector('#view-' + view + ' h1');
      if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: false }); }
    }
    if (view === 'signin') setTimeout(() => $('token').focus(), 0);
  }

  function route() {
    clearTimeout(state.retryTimer);
    if (!state.me) { show('signin'); return; }
    const hash = location.hash || '#/find';
    const [path, qs] = hash.slice(1).split('?');
    const m = /^\/influencer\/(\d+)$/.exec(path);
    if (m) showInfluencer(Number(m[1]));
    else if (path === '/plan') showPlan();
    else showFind(new URLSearchParams(qs || ''));
  }

  // ---- find ----------------------------------------------------------

  const FIND_FIELDS = ['category', 'country', 'min_followers', 'max_fee', 'sort'];

  function findParams() {
    const f = $('find-form'), q = new URLSearchParams();
    for (const name of FIND_FIELDS) {
      let v = f.elements[name].value.trim();
      if (name === 'country') v = v.toUpperCase();
      if (name === 'category') v = v.toLowerCase();
      if (v !== '' && !(name === 'sort' && v === 'p50')) q.set(name, v);
    }
    return q;
  }

  function fillFind(q) {
    const f = $('find-form');
    for (const name of FIND_FIELDS) f.elements[name].value = q.get(name) || (name === 'sort' ? 'p50' : '');
  }

  function showFind(q) {
    show('find');
    fillFind(q);
    const key = state.brand + '|' + q.toString();
    if (state.find.key === key && !state.find.error) { renderFind(); return; }
    loadFind(q, '');
  }

  async function loadFind(q, cursor) {
    const seq = ++state.seq;
    const key = state.brand + '|' + q.toString();
    const req = new URLSearchParams(q);
    req.set('limit', String(PAGE));
    if (cursor) req.set('cursor', cursor);
    hideError($('find-error'));
    state.find.loading = true;
    $('view-find').setAttribute('aria-busy', 'true');
    $('find-more').disabled = true;
    status(cursor ? 'Loading more influencers…' : 'Loading influencers…');
    try {
      const path = `v1/brands/${state.brand}/influencers?` + req.toString();
      let r;
      const pre = state.prefetch;
      state.prefetch = null;
      if (pre && pre.path === path) {
        r = await pre.result;
        if (r instanceof Error) throw r;
      } else {
        r = await api('GET', path);
      }
      if (seq !== state.seq) return;
      const prev = cursor ? state.find.items.length : 0;
      state.find = {
        key, items: cursor ? state.find.items.concat(r.items || []) : (r.items || []),
        next: r.next_cursor || '', matched: r.matched, note: r.note || '', asOf: r.as_of, sort: r.sort, loading: false, error: null,
      };
      state.brandName = r.brand || '';
      for (const c of r.items || []) {
        state.candidates.set(state.brand + ':' + c.influencer_id, c);
        for (const cat of c.categories || []) state.categories.add(cat);
        if (c.country) state.countries.add(c.country);
      }
      renderFind();
      if (!state.firstRows && state.find.items.length > 0) {
        state.firstRows = true;
        performance.mark('vetrina:first-rows');
      }
      const n = state.find.items.length;
      status(n === 0 ? 'No influencer matches these filters.' : `Showing ${n} of ${num(r.matched)} matching influencers for ${state.brandName || 'brand ' + state.brand}.`);
      if (cursor && n > prev) {
        const link = $('find-rows').rows[prev] && $('find-rows').rows[prev].querySelector('a');
        if (link) link.focus();
      }
    } catch (err) {
      if (seq !== state.seq) return;
      state.find.loading = false; state.find.error = err; state.find.key = key;
      if (err.status === 401) return;
      let extra = null;
      if (err.status === 503 && err.retryAfter) {
        extra = h('span', { text: ` Retrying in ${err.retryAfter} s.` });
        state.retryTimer = setTimeout(() => { if (state.view === 'find') loadFind(q, cursor); }, err.retryAfter * 1000);
      }
      showError($('find-error'), err, extra);
      if (!cursor) { $('find-table').hidden = true; $('find-empty').hidden = true; $('find-summary').textContent = ''; $('find-more').hidden = true; }
      status('Could not load the influencers: ' + err.title + '.');
    } finally {
      if (seq === state.seq) { $('view-find').removeAttribute('aria-busy'); $('find-more').disabled = false; }
    }
  }

  function renderFind() {
    const f = state.find;
    $('brand-name').textContent = state.brandName ? 'for ' + state.brandName : '';
    for (const el of document.querySelectorAll('.brand-ref')) el.textContent = state.brandName || 'brand ' + state.brand;
    $('categories').replaceChildren(...[...state.categories].sort().map((c) => h('option', { value: c })));
    $('countries').replaceChildren(...[...state.countries].sort().map((c) => h('option', { value: c })));
    if (f.error) return;
    const items = f.items;
    const max = Math.max(1, ...items.map((c) => c.prediction.p90));
    $('find-rows').replaceChildren(...items.map((c, i) => findRow(c, i, max)));
    $('find-table').hidden = items.length === 0;
    $('find-more').hidden = !f.next;
    const empty = $('find-empty');
    if (items.length === 0) {
      empty.replaceChildren(h('strong', { text: 'No influencer matches these filters.' }), ' ',
        h('span', { text: f.note || 'Try another category or country, fewer followers or a higher fee.' }));
      empty.hidden = false;
      $('find-summary').textContent = '';
    } else {
      empty.hidden = true;
      $('find-summary').replaceChildren(
        `${items.length} of ${num(f.matched)} matching influencers, by ${{ p50: 'median GMV', p10: 'cautious GMV (P10)', gmv: 'expected GMV', roi: 'ROI' }[f.sort] || f.sort}`,
        f.asOf ? h('span', { class: 'muted', text: ` · profiles of ${dateTime(f.asOf)}` }) : '',
        f.note ? h('span', { class: 'muted', text: ' · ' + f.note }) : '');
    }
  }

  function findRow(c, i, max) {
    const p = c.prediction, fx = p.factors;
    const authClass = fx.authenticity < 0.5 ? 'warn' : '';
    return h('tr', { 'data-influencer': c.influencer_id, 'data-p10': p.p10, 'data-p50': p.p50, 'data-p90': p.p90, 'data-roi': p.roi === undefined || p.roi === null ? '' : p.roi },
      h('td', { class: 'rank-no', 'data-label': '#', text: String(i + 1) }),
      h('td', { class: 'who-cell', 'data-label': 'Influencer' },
        influencerLink(c.influencer_id, c.handle),
        h('div', { class: 'muted small', text: [c.country, num(c.followers) + ' followers', (c.categories || []).join(', '), plural(c.lives, 'live', 'lives')].filter(Boolean).join(' · ') })),
      h('td', { class: 'num', 'data-label': 'Reach', title: 'real viewer visits per live', text: num(fx.reach) }),
      h('td', { class: 'num', 'data-label': 'Affinity', title: 'audience interest in your categories (1 = average)', text: times(fx.affinity) }),
      h('td', { class: 'num', 'data-label': 'Conversion', title: 'orders per real view', text: pct(fx.conversion, 2) }),
      h('td', { class: 'num', 'data-label': 'Order value', text: eur(fx.order_value) }),
      h('td', { class: 'num ' + authClass, 'data-label': 'Authenticity', title: '1 = no sign of fake audience', text: dec(fx.authenticity) }),
      h('td', { class: 'num', 'data-label': 'Fee · ROI' },
        p.fee > 0 ? eur(p.fee) : h('span', { class: 'muted', text: 'fee unknown' }),
        h('div', { class: 'small ' + (p.roi < 0 ? 'neg' : ''), text: p.roi === undefined || p.roi === null ? '' : 'ROI ' + dec(p.roi) })),
      h('td', { class: 'chart-cell', 'data-label': 'Predicted GMV' }, intervalCell(p, max)),
      h('td', { class: 'reasons', 'data-label': 'Why' }, h('ul', {}, (c.reasons || []).map((r) => h('li', { text: r })))));
  }

  // ---- influencer ----------------------------------------------------

  async function candidateFor(id) {
    const key = state.brand + ':' + id;
    if (state.candidates.has(key)) return state.candidates.get(key);
    try {
      const r = await api('GET', `v1/brands/${state.brand}/influencers?limit=200`);
      state.brandName = r.brand || state.brandName;
      for (const c of r.items || []) state.candidates.set(state.brand + ':' + c.influencer_id, c);
    } catch (_) { /* the profile still shows */ }
    return state.candidates.get(key) || null;
  }

  async function showInfluencer(id) {
    show('influencer');
    const seq = ++state.seq;
    hideError($('inf-error'));
    $('inf-body').hidden = true;
    $('inf-h').textContent = 'Influencer ' + id;
    $('inf-back').href = state.find.key ? '#/find' + (state.find.key.split('|')[1] ? '?' + state.find.key.split('|')[1] : '') : '#/find';
    $('view-influencer').setAttribute('aria-busy', 'true');
    status('Loading influencer ' + id + '…');
    try {
      const [prof, cand] = await Promise.all([api('GET', 'v1/influencers/' + id), candidateFor(id)]);
      if (seq !== state.seq) return;
      renderInfluencer(prof, cand);
      $('inf-body').hidden = false;
      status(`Influencer @${prof.handle}: ${plural(prof.past_lives.length, 'past live', 'past lives')} shown.`);
    } catch (err) {
      if (seq !== state.seq || err.status === 401) return;
      showError($('inf-error'), err);
      status('Could not load influencer ' + id + ': ' + err.title + '.');
    } finally {
      if (seq === state.seq) $('view-influencer').removeAttribute('aria-busy');
    }
  }

  function renderInfluencer(p, c) {
    $('inf-h').textContent = '@' + p.handle;
    $('inf-meta').textContent = [p.country, num(p.followers) + ' followers', (p.categories || []).join(', '), p.fee > 0 ? 'fee ' + eur(p.fee) + ' per live' : 'fee unknown'].filter(Boolean).join(' · ');
    for (const el of document.querySelectorAll('.brand-ref')) el.textContent = state.brandName || 'brand ' + state.brand;

    // The prediction for the signed-in brand and its factors.
    const pred = $('inf-prediction');
    if (!c) {
      pred.replaceChildren(h('p', { class: 'empty', text: `Not among the 200 best influencers for ${state.brandName || 'brand ' + state.brand}: no prediction shown.` }));
    } else {
      const q = c.prediction, fx = q.factors;
      const factor = (name, value, meaning) => h('tr', {}, h('th', { scope: 'row', text: name }), h('td', { class: 'num', text: value }), h('td', { class: 'muted small', text: meaning }));
      pred.replaceChildren(
        interval(q, q.p90 * 1.1, 320),
        h('dl', { class: 'stats totals' },
          stat('P10', eur(q.p10)), stat('Median (P50)', eur(q.p50)), stat('P90', eur(q.p90)),
          stat('Expected GMV', eur(q.gmv)), stat('Orders', dec(q.orders, 1)),
          stat('ROI', q.roi === undefined || q.roi === null ? 'fee unknown' : dec(q.roi)), stat('Profit', eur(q.profit))),
        h('table', { class: 'factors', id: 'inf-factors' },
          h('caption', { text: 'Factors: GMV = reach × conversion × order value; conversion = base rate × affinity × skill × quality' }),
          h('tbody', {},
            factor('Reach', num(fx.reach), 'real viewer visits per live'),
            factor('Affinity', times(fx.affinity), 'audience interest in your categories (1 = average)'),
            factor('Skill', times(fx.skill), 'converts vs what the audience predicts'),
            factor('Quality', times(fx.quality), 'your products vs their categories in the shop'),
            factor('Conversion', pct(fx.conversion, 2), 'orders per real view'),
            factor('Order value', eur(fx.order_value), 'GMV per order'),
            factor('Authenticity', dec(fx.authenticity), '1 = no sign of fake audience'))),
        (c.reasons || []).length ? h('ul', { class: 'reasons' }, c.reasons.map((r) => h('li', { text: r }))) : null);
    }

    $('inf-profile').replaceChildren(...[
      stat('Lives', `${p.lives} (${p.sponsored_lives} sponsored)`),
      stat('Viewers per live', num(p.viewers_per_live)),
      stat('Reach', num(p.reach)),
      stat('Chats per viewer', dec(p.chats_per_viewer)),
      p.questions_per_viewer === undefined ? null : stat('Questions per viewer', dec(p.questions_per_viewer)),
      stat('Conversion', pct(p.conversion, 2)),
      stat('Skill', times(p.skill)),
      stat('Order value', eur(p.order_value)),
      stat('GMV per live', eur(p.gmv_per_live)),
      stat('Sponsored GMV per live', eur(p.sponsored_gmv_per_live)),
      stat('Organic GMV per live', eur(p.organic_gmv_per_live)),
      stat('Trend (30 days)', p.trend ? times(p.trend) : '–'),
      stat('Authenticity', dec(p.authenticity)),
      stat('Inactive viewers', pct(p.inactive_viewer_share)),
      stat('Chats in bursts', pct(p.burst_chat_share)),
      stat('Profiles as of', dateTime(p.as_of))].filter(Boolean));

    $('inf-lives').replaceChildren(...livesChart(p));
    $('inf-audience').replaceChildren(audienceChart(p.audience || {}));
  }

  function stat(k, v) { return h('div', {}, h('dt', { text: k }), h('dd', { text: v })); }

  function livesChart(p) {
    const lives = (p.past_lives || []).slice().reverse(); // oldest first
    if (lives.length === 0) {
      return [h('p', { class: 'empty', id: 'lives-empty', text: p.lives > 0
        ? `No past live to show: the ${p.lives} lives of @${p.handle} were sponsored by other brands, whose results are not shown to you.`
        : `@${p.handle} has no past live yet.` })];
    }
    const W = 640, H = 220, L = 58, R = 10, T = 14, B = 34;
    const max = Math.max(1, ...lives.map((l) => l.gmv)) * 1.1;
    const bw = Math.min(56, (W - L - R) / lives.length); // a few lives make slim bars, not slabs
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const g = [];
    for (const t of [0, 0.5, 1]) {
      const v = max * t / 1.1;
      g.push(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        s('text', { class: 'tick', x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: eurShort(v) }));
    }
    const bars = lives.map((l, i) => {
      const own = l.sponsor_brand_id ? true : false;
      const x = L + i * bw + bw * 0.15, w = Math.max(1, bw * 0.7);
      const label = `${dateTime(l.start)}: ${eur(l.gmv)} GMV, ${num(l.orders)} orders, ${num(l.viewers)} viewers${own ? ', sponsored by brand ' + l.sponsor_brand_id : ', organic'}`;
      return s('g', { class: own ? 'live sponsored' : 'live organic' },
        s('title', { text: label }),
        s('rect', { x, y: y(l.gmv), width: w, height: Math.max(0.5, y(0) - y(l.gmv)) }),
        own ? s('path', { class: 'mark', d: `M${x + w / 2} ${y(l.gmv) - 9} l4 6 h-8 z` }) : null);
    });
    const xl = [];
    const idx = lives.length > 2 ? [0, Math.floor((lives.length - 1) / 2), lives.length - 1] : lives.map((_, i) => i);
    for (const i of idx) xl.push(s('text', { class: 'tick', x: L + (i + 0.5) * bw, y: H - 12, 'text-anchor': 'middle', text: date(lives[i].start) }));
    const sponsored = lives.filter((l) => l.sponsor_brand_id).length;
    const chart = s('svg', { id: 'lives-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `GMV of the last ${lives.length} lives, oldest first, from ${eur(0)} to ${eur(Math.max(...lives.map((l) => l.gmv)))}; ${sponsored} sponsored by your brand` },
    g, s('line', { class: 'axis', x1: L, x2: W - R, y1: y(0), y2: y(0) }), bars, xl);
    const legend = h('p', { class: 'legend small' },
      h('span', { class: 'key organic' }), ' organic live  ', h('span', { class: 'key sponsored' }), ' sponsored by your brand (▲)',
      p.lives > lives.length ? h('span', { class: 'muted', text: ` · ${lives.length} of ${p.lives} lives shown (the most recent; other brands' sponsored lives are hidden)` }) : null);
    const table = h('details', {}, h('summary', { text: 'Past lives as a table' }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'plain' },
        h('thead', {}, h('tr', {}, ['Start', 'Sponsor', 'Viewers', 'Orders', 'GMV'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, p.past_lives.map((l) => h('tr', {},
          h('td', { text: dateTime(l.start) }), h('td', { text: l.sponsor_brand_id ? 'brand ' + l.sponsor_brand_id : 'organic' }),
          h('td', { class: 'num', text: num(l.viewers) }), h('td', { class: 'num', text: num(l.orders) }), h('td', { class: 'num', text: eur(l.gmv) })))))));
    return [chart, legend, table];
  }

  function audienceChart(aud) {
    const rows = Object.entries(aud).sort((a, b) => b[1] - a[1]);
    if (rows.length === 0) return h('p', { class: 'empty', text: 'No audience data yet.' });
    const W = 320, rowH = 22, L = 86, R = 40, T = 4;
    const H = T + rows.length * rowH + 4;
    const max = Math.max(1, ...rows.map((r) => r[1])) * 1.02;
    const x = (v) => L + (W - L - R) * v / max;
    return s('svg', { id: 'audience-chart', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': 'Audience interest by category: ' + rows.map(([k, v]) => `${k} ×${dec(v)}`).join(', ') },
    rows.map(([k, v], i) => s('g', { class: v >= 1 ? 'aud above' : 'aud below' },
      s('text', { class: 'tick', x: L - 6, y: T + i * rowH + 15, 'text-anchor': 'end', text: k }),
      s('rect', { x: L, y: T + i * rowH + 4, width: Math.max(1, x(v) - L), height: rowH - 8, rx: 2 }),
      s('text', { class: 'tick', x: x(v) + 4, y: T + i * rowH + 15, text: '×' + dec(v) }))),
    s('line', { class: 'ref', x1: x(1), x2: x(1), y1: 0, y2: H }),
    s('title', { text: 'the dashed line is the average live viewer (×1)' }));
  }

  // ---- plan ----------------------------------------------------------

  function showPlan() {
    show('plan');
    try {
      const saved = JSON.parse(sessionStorage.getItem(PLAN_KEY) || 'null');
      if (saved && !state.planFilled) {
        $('p-budget').value = saved.budget; $('p-lives').value = saved.lives; $('p-objective').value = saved.objective;
      }
    } catch (_) { /* ignore */ }
    state.planFilled = true;
  }

  async function runPlan() {
    const budget = Number($('p-budget').value), lives = Number($('p-lives').value), objective = $('p-objective').value;
    sessionStorage.setItem(PLAN_KEY, JSON.stringify({ budget: $('p-budget').value, lives: $('p-lives').value, objective }));
    const seq = ++state.seq;
    hideError($('plan-error'));
    $('plan-submit').disabled = true;
    $('view-plan').setAttribute('aria-busy', 'true');
    status('Building the plan…');
    try {
      const r = await api('POST', 'v1/plans', { objective, brands: [{ brand_id: state.brand, budget, lives }] });
      if (seq !== state.seq) return;
      renderPlan(r, budget);
      const t = (r.brands || []).find((b) => b.brand_id === state.brand) || {};
      status(`Plan: ${t.lives || 0} of ${lives} lives, fees ${eur(t.fees)} of ${eur(budget)}, expected GMV ${eur(t.gmv)}.`);
    } catch (err) {
      if (seq !== state.seq || err.status === 401) return;
      $('plan-result').hidden = true;
      showError($('plan-error'), err);
      status('The plan failed: ' + err.title + '.');
    } finally {
      $('plan-submit').disabled = false;
      $('view-plan').removeAttribute('aria-busy');
    }
  }

  function renderPlan(r, budget) {
    const t = (r.brands || []).find((b) => b.brand_id === state.brand) || { lives: 0, fees: 0, gmv: 0, value: 0, lives_requested: 0 };
    const objective = r.objective === 'profit' ? 'Profit' : 'GMV';
    $('plan-totals').replaceChildren(
      stat('Lives', `${t.lives} of ${t.lives_requested}`),
      stat('Fees', `${eur(t.fees)} of ${eur(t.budget === undefined ? budget : t.budget)}`),
      stat('Expected GMV', eur(t.gmv)),
      stat(`Value (${objective})`, eur(r.value)),
      stat('Upper bound', eur(r.upper_bound)),
      stat('Gap to the bound', pct(r.gap, 2)),
      stat('Method', r.method + (r.exact ? ' (proven optimal)' : '')));
    const note = $('plan-note');
    note.textContent = r.note || '';
    note.hidden = !r.note;
    const lives = r.lives || [];
    const max = Math.max(1, ...lives.map((l) => l.prediction.p90));
    $('plan-rows').replaceChildren(...lives.map((l, i) => h('tr', {},
      h('td', { class: 'rank-no', 'data-label': '#', text: String(i + 1) }),
      h('td', { 'data-label': 'Influencer' }, influencerLink(l.influencer_id, l.handle)),
      h('td', { class: 'num', 'data-label': 'Fee', text: l.fee > 0 ? eur(l.fee) : 'unknown' }),
      h('td', { class: 'num', 'data-label': 'Value', text: eur(l.value) }),
      h('td', { class: 'num', 'data-label': 'ROI', text: l.prediction.roi === undefined || l.prediction.roi === null ? '–' : dec(l.prediction.roi) }),
      h('td', { class: 'chart-cell', 'data-label': 'Predicted GMV' }, intervalCell(l.prediction, max)))));
    for (const l of lives) {
      // The plan's predictions are the brand's: the influencer page can show them.
      if (!state.candidates.has(state.brand + ':' + l.influencer_id)) {
        state.candidates.set(state.brand + ':' + l.influencer_id, { influencer_id: l.influencer_id, handle: l.handle, prediction: l.prediction, reasons: [] });
      }
    }
    $('plan-table').hidden = lives.length === 0;
    const empty = $('plan-empty');
    empty.hidden = lives.length > 0;
    empty.textContent = lives.length ? '' : 'No live fits: no influencer is worth planning within this budget. Raise the budget or change the objective.';
    $('plan-result').hidden = false;
  }

  // ---- wiring --------------------------------------------------------

  function init() {
    performance.mark('vetrina:script');
    $('signin-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const tok = $('token').value.trim();
      const btn = e.submitter || $('signin-form').querySelector('button');
      btn.disabled = true;
      hideError($('signin-error'));
      status('Signing in…');
      try {
        await signIn(tok);
        status('Signed in as ' + state.me.name + '.');
        if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/find';
        else route();
      } catch (err) {
        state.token = ''; state.me = null;
        showError($('signin-error'), err.status === 401 ? { ...err, title: 'Token not accepted', detail: err.detail || 'the token is not valid', status: 401 } : err);
        status('Sign-in failed: ' + (err.status === 401 ? 'token not accepted' : err.title) + '.');
        $('token').select();
      } finally {
        btn.disabled = false;
      }
    });
    $('sign-out').addEventListener('click', () => signOut(null));
    $('find-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const q = findParams();
      const hash = '#/find' + (q.toString() ? '?' + q.toString() : '');
      state.find.key = null; // a submit always asks again
      if (location.hash === hash) route(); else location.hash = hash;
    });
    $('find-form').addEventListener('reset', () => {
      setTimeout(() => { location.hash = '#/find'; }, 0);
    });
    $('find-more').addEventListener('click', () => {
      if (state.find.next) loadFind(new URLSearchParams(state.find.key.split('|')[1]), state.find.next);
    });
    $('plan-form').addEventListener('submit', (e) => { e.preventDefault(); runPlan(); });
    $('brand-select').addEventListener('change', (e) => changeBrand(Number(e.target.value)));
    $('brand-input').addEventListener('change', (e) => changeBrand(Number(e.target.value)));
    window.addEventListener('hashchange', route);

    if (state.token) {
      status('Signing in…');
      // A reload of the ranking: ask for it while the token is checked,
      // not after (one round trip less before the first rows).
      const saved = Number(sessionStorage.getItem(BRAND_KEY));
      const [path, qs] = (location.hash || '#/find').slice(1).split('?');
      if (saved && path === '/find') {
        const req = new URLSearchParams(qs || '');
        req.set('limit', String(PAGE));
        const p = `v1/brands/${saved}/influencers?` + req.toString();
        state.prefetch = { path: p, result: api('GET', p, undefined, true).catch((e) => e) };
      }
      signIn(state.token).then(() => { performance.mark('vetrina:signed-in'); state.started = true; route(); }).catch((err) => {
        state.started = true;
        signOut(err.status ? err : null);
      });
    } else {
      state.started = true;
      show('signin');
    }
  }

  init();
})();
