import { main } from '../services/cli/main.js';

// `gatehouse` from the sources (tsx), no build needed: `npm start` (= `gatehouse dev`) and `npm run gatehouse -- …`.
const argv = process.argv.slice(2);
const code = await main(argv);
// `dev` returns only after every embedded part stopped and flushed its state; idle keep-alive sockets of its HTTP
// clients would hold the event loop for seconds more, so Ctrl-C ends the process now. Other commands exit naturally
// (their output may still be draining into a pipe).
if (argv[0] === 'dev') process.exit(code);
process.exitCode = code;
