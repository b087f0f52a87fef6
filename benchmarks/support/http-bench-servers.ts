/**
 * The servers `npm run bench:http` starts beside the gateway, each its own process: the upstream, the "node floor"
 * (the least a Node reverse proxy does per request) and nginx's configuration.
 */

/** The upstream: node:http, one small JSON document, keep-alive; no framework, no logging. */
export function upstreamScript(port: number): string {
  return `
const body = JSON.stringify({ items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b'], price: i * 1.5 })) });
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body));
});
server.keepAliveTimeout = 60000;
server.listen(${port}, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;
}

/**
 * The node floor: a bare reverse proxy on the runtime and libraries the gateway uses — a `node:http` server and an
 * undici `Pool.dispatch` with a handler that collects the (small) body and answers head and body in one write, as
 * the gateway does for such a body — with no token check, no policy, no audit, no header allowlist beyond dropping
 * hop-by-hop ones. What it costs per request is Node's HTTP machinery on this machine: the part of the gateway's
 * cost that no cut in Gatehouse's own code removes. Run with `node -e` from the project root (undici resolves from
 * its node_modules).
 */
export function nodeFloorScript(port: number, upstreamOrigin: string): string {
  return `
const { createServer } = require('node:http');
const { Pool } = require('undici');
const pool = new Pool(${JSON.stringify(upstreamOrigin)}, { connections: 128 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'proxy-authenticate', 'proxy-authorization']);
class Relay {
  constructor(res) { this.res = res; this.status = 0; this.headers = {}; this.chunks = []; }
  onRequestStart() {}
  onResponseStart(_c, status, headers) { this.status = status; this.headers = headers; }
  onResponseData(_c, chunk) { this.chunks.push(chunk); }
  onResponseEnd() {
    const out = {};
    for (const k in this.headers) if (!HOP.has(k)) out[k] = this.headers[k];
    this.res.writeHead(this.status, out);
    this.res.end(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks));
  }
  onResponseError() { if (!this.res.headersSent) this.res.writeHead(502).end(); else this.res.destroy(); }
}
const server = createServer({ keepAliveTimeout: 72000 }, (req, res) => {
  req.resume();
  const headers = {};
  if (req.headers.accept !== undefined) headers.accept = req.headers.accept;
  if (req.headers['user-agent'] !== undefined) headers['user-agent'] = req.headers['user-agent'];
  pool.dispatch({ path: req.url, method: req.method, headers, body: null }, new Relay(res));
});
server.listen(${port}, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;
}

/** nginx as a plain reverse proxy: one worker, keep-alive to the upstream, buffered access log. */
export function nginxConf(prefix: string, port: number, upstreamPort: number): string {
  const asRoot = process.getuid?.() === 0 ? 'user root;' : '';
  return `${asRoot}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${prefix}/access.log combined buffer=64k flush=1s;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream api { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}
