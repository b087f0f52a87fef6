import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchExit } from './upstream-exit.js';

// An in-process SSH server that answers an exec with its output, exit status and end in one go. The gateway side
// reads through a socket that hands ssh2 everything that arrived within 50 ms as one chunk — what a short command
// looks like to a gateway whose event loop was busy (a neighbour session streaming megabytes).
let server: ssh2.Server;
let port: number;

beforeAll(async () => {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('ready', () =>
      conn.on('session', (accept) =>
        accept().on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          channel.write('Linux\n');
          if (info.command === 'kill') channel.exit('TERM', false, 'terminated');
          else channel.exit(Number(info.command));
          channel.end();
        }),
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A TCP connection whose incoming bytes reach the reader in 50 ms batches. */
function coalescingSocket(): Duplex {
  const tcp = connect(port, '127.0.0.1');
  let held: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const socket = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _encoding, done) => void tcp.write(chunk, done),
    final: (done) => void tcp.end(done),
  });
  tcp.on('data', (bytes: Buffer) => {
    held.push(bytes);
    timer ??= setTimeout(() => {
      timer = undefined;
      socket.push(Buffer.concat(held));
      held = [];
    }, 50);
  });
  tcp.on('end', () => socket.push(null));
  return socket;
}

type Opened = { channel: ClientChannel; exit: ReturnType<typeof watchExit> };

/** Opens an exec channel the way the gateway does: the callback resolves a promise, the caller awaits it. */
async function execInOneRead(command: string): Promise<Opened> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ sock: coalescingSocket(), username: 'u', password: 'p' });
  });
  const opened = await new Promise<Opened>((resolve, reject) =>
    client.exec(command, (err, channel) =>
      err ? reject(err) : resolve({ channel, exit: watchExit(channel) }),
    ),
  );
  opened.channel.once('close', () => client.end());
  return opened;
}

describe('the exit of an upstream command that ends in the same read as its exec reply', () => {
  it('is recorded from the callback on, while a listener added after the await misses it', async () => {
    const { channel, exit } = await execInOneRead('3');
    let late: number | undefined;
    channel.on('exit', (code: number) => (late = code)); // what the bridge used to do: the status was lost
    const out: Buffer[] = [];
    channel.on('data', (b: Buffer) => out.push(b));
    await new Promise((resolve) => channel.once('close', resolve));
    expect(Buffer.concat(out).toString()).toBe('Linux\n');
    expect(exit()).toEqual({ code: 3 });
    expect(late).toBeUndefined();
  });

  it('records an exit signal with its description', async () => {
    const { channel, exit } = await execInOneRead('kill');
    channel.resume();
    await new Promise((resolve) => channel.once('close', resolve));
    expect(exit()).toEqual({ signal: 'SIGTERM', dump: false, desc: 'terminated' });
  });
});
