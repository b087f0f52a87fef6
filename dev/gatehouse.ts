import { main } from '../services/cli/main.js';

// `gatehouse` from the sources (tsx), no build needed: `npm start` (= `gatehouse dev`) and `npm run gatehouse -- …`.
process.exitCode = await main(process.argv.slice(2));
