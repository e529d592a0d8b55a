'use strict';
/* Shared by every page: the API key (sessionStorage), fetch with the key, small DOM helpers. */
const A4 = (() => {
  const KEY = 'align4j.key';

  class ApiError extends Error {
    constructor(message, status, param) { super(message); this.status = status; this.param = param; }
  }

  function key() { return sessionStorage.getItem(KEY); }

  function toLogin(message) {
    if (location.pathname === '/login') return;
    const next = location.pathname + location.search;
    location.href = '/login?next=' + encodeURIComponent(next) + (message ? '&why=' + encodeURIComponent(message) : '');
  }

  /** fetch with the key; JSON in and out; errors in OpenAI's shape become ApiError with its message. */
  async function api(path, opts = {}) {
    const headers = Object.assign({}, opts.headers || {});
    const k = key();
    if (k) headers['Authorization'] = 'Bearer ' + k;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(path, { method: opts.method || (body !== undefined ? 'POST' : 'GET'), headers, body, signal: opts.signal });
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      toLogin('The key was refused; log in again.');
      throw new ApiError('The server needs its API key.', 401);
    }
    if (!res.ok) {
      let msg = res.status + ' ' + res.statusText;
      let param = null;
      try {
        const j = await res.json();
        if (j && j.error && j.error.message) msg = j.error.message;
        if (j && j.error) param = j.error.param;
      } catch (e) { /* not JSON */ }
      throw new ApiError(msg, res.status, param);
    }
    if (opts.raw) return res;
    const type = res.headers.get('content-type') || '';
    return type.includes('json') ? res.json() : res.text();
  }

  /** el('a', {href: '/x', class: 'y'}, 'text', child...): text is always text, never HTML. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function $(id) { return document.getElementById(id); }
  function param(name) { return new URLSearchParams(location.search).get(name); }

  function showError(err, id = 'error') {
    const box = $(id);
    if (!box) return;
    if (!err) { box.hidden = true; box.textContent = ''; return; }
    if (err.status === 401) return; // on the way to the login page
    box.textContent = err.message || String(err);
    box.hidden = false;
  }

  function num(v, digits = 4) {
    if (typeof v !== 'number' || !isFinite(v)) return v === undefined || v === null ? '–' : String(v);
    return Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toFixed(digits);
  }

  function time(v) {
    if (v === undefined || v === null || v === '') return '–';
    const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
    return isNaN(d) ? String(v) : d.toLocaleString();
  }

  function keyed() {
    const m = document.querySelector('meta[name="align4j-keyed"]');
    return m && m.content === 'true';
  }

  /** Pages that need data go to the login page first when the server has a key and this tab has none. */
  function requireKey() {
    if (keyed() && !key()) { toLogin(); return false; }
    return true;
  }

  document.addEventListener('DOMContentLoaded', () => {
    const auth = $('auth');
    if (!auth) return;
    if (key()) {
      auth.append(el('button', { type: 'button', class: 'link', onclick: () => { sessionStorage.removeItem(KEY); location.href = '/login'; } }, 'Log out'));
    } else if (keyed()) {
      auth.append(el('a', { href: '/login' }, 'Log in'));
    }
  });

  return { KEY, ApiError, api, el, $, param, showError, num, time, key, keyed, requireKey, toLogin };
})();
