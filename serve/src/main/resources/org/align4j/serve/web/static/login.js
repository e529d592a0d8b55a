'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const { $, api, param } = A4;
  const why = param('why');
  if (why) { $('msg').textContent = why; $('msg').hidden = false; }
  $('key').focus();
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(A4.KEY, $('key').value.trim());
    try {
      const res = await fetch('/api/whoami', { headers: { Authorization: 'Bearer ' + $('key').value.trim() } });
      if (res.status === 401) {
        sessionStorage.removeItem(A4.KEY);
        $('msg').textContent = 'That key was refused.';
        $('msg').hidden = false;
        return;
      }
    } catch (e) {
      $('msg').textContent = 'The server could not be reached: ' + e.message;
      $('msg').hidden = false;
      return;
    }
    const next = param('next');
    location.href = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  });
});
