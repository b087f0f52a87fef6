/**
 * The reviewer page (`GET /`, `GET /approvals/:id`). Static: no data is ever interpolated into it. The script
 * (app-js.ts) builds every element with `textContent`, so request text (attacker-controlled SQL) is never parsed
 * as HTML. Served with a strict Content-Security-Policy (no inline script or style).
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Gatehouse approvals</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>Gatehouse approvals</h1>
  <form id="token-form" autocomplete="off">
    <label for="token">Access token</label>
    <input id="token" name="token" type="password" placeholder="paste your access token" spellcheck="false">
    <button type="submit" id="token-save">Use token</button>
    <button type="button" id="token-forget">Forget</button>
  </form>
  <p id="whoami" role="status"></p>
  <button type="button" id="logout" hidden>Log out</button>
</header>
<nav id="filters" aria-label="filter by state">
  <button type="button" data-state="pending" class="active">Pending</button>
  <button type="button" data-state="approved">Approved</button>
  <button type="button" data-state="rejected">Rejected</button>
  <button type="button" data-state="expired">Expired</button>
  <button type="button" data-state="abandoned">Abandoned</button>
  <button type="button" data-state="all">All</button>
  <span id="live" title="live updates">offline</span>
</nav>
<p id="message" role="alert"></p>
<main id="approvals" aria-live="polite"></main>
<template id="empty"><p class="empty">Nothing here.</p></template>
</body>
</html>
`;

export const PAGE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d1d1f; background: #f6f6f8; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; }
h1 { font-size: 1.4rem; margin: 0; }
form { display: flex; gap: .5rem; align-items: center; }
input[type=password] { width: 20rem; max-width: 60vw; padding: .35rem; }
button { padding: .35rem .8rem; border: 1px solid #999; border-radius: .3rem; background: #fff; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
nav { display: flex; gap: .4rem; margin: 1rem 0; align-items: center; }
nav button.active { background: #1d1d1f; color: #fff; }
#live { margin-left: auto; font-size: .85rem; color: #a33; }
#live.on { color: #2a7; }
#message { min-height: 1.2rem; color: #a33; white-space: pre-wrap; }
#message.ok { color: #2a7; }
.card { background: #fff; border: 1px solid #ddd; border-radius: .5rem; padding: 1rem; margin-bottom: 1rem; }
.card.focus { border-color: #36c; box-shadow: 0 0 0 2px #36c4; }
.card h2 { font-size: 1rem; margin: 0 0 .5rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
.state { font-size: .8rem; padding: .1rem .4rem; border-radius: .3rem; background: #eee; text-transform: uppercase; }
.state.pending { background: #fe9; } .state.approved { background: #bfb; }
.state.rejected { background: #fbb; } .state.expired { background: #ddd; } .state.abandoned { background: #dde; }
.badge { font-size: .75rem; padding: .05rem .35rem; border-radius: .3rem; background: #e3e3ff; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: .5rem 0; }
dt { color: #666; } dd { margin: 0; overflow-wrap: anywhere; }
pre.statement { background: #1d1d1f; color: #f6f6f8; padding: .75rem; border-radius: .4rem; overflow: auto;
  max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.actions { display: flex; gap: .5rem; align-items: flex-start; flex-wrap: wrap; }
.actions textarea { flex: 1; min-width: 16rem; min-height: 2.2rem; }
button.approve { border-color: #2a7; } button.reject { border-color: #a33; }
ol.history { font-size: .85rem; color: #555; padding-left: 1.2rem; }
ol.history .ignored { color: #a60; }
.empty { color: #666; }
`;
