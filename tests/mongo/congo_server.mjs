// CongoDB (the Mongo-wire server inside npm @push.rocks/smartmongo 2.2.0,
// installed into .tools/congodb by `tools/setup.sh --test`) on 127.0.0.1,
// for store_mongo's tests. Prints one line `ready mongodb://127.0.0.1:PORT`
// once it listens; stops on SIGTERM/SIGINT or when its stdin closes (the
// test that started it is gone).
//
//   node tests/mongo/congo_server.mjs [--port N] [--storage memory|file] [--path DIR]
//                                     [--keep-topology-version]
//
// Storage: memory by default. `file` is the only mode that survives a
// restart, so only restart tests use it: in file mode concurrent updates
// are lost (4 threads x 200 findAndModify $inc gave 758 duplicate counter
// values, issue 14), which would break the per-room seq under load.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.PARLEY_CONGODB_DIR ||
	path.join(here, '..', '..', '.tools', 'congodb', 'package');
// Only dist_ts/congodb: the package root imports mongodb-memory-server.
const { CongoServer } = await import(
	pathToFileURL(path.join(root, 'dist_ts', 'congodb', 'index.js')).href);

const args = process.argv.slice(2);
function opt(name, dflt) {
	const i = args.indexOf(name);
	return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const port = Number(opt('--port', '0'));
const storage = opt('--storage', 'memory');
if (storage !== 'memory' && storage !== 'file') {
	console.error(`congo_server: --storage must be memory or file, not ${storage}`);
	process.exit(2);
}
const server = new CongoServer({
	host: '127.0.0.1',
	port,
	storage,
	storagePath: opt('--path', './congo-data'),
});

// CongoDB's hello carries a topologyVersion, so drivers switch to awaitable
// hello (streaming monitoring), which CongoDB answers at once instead of
// waiting maxAwaitTimeMS: mongoc then spins at ~20k heartbeats/s. Without
// topologyVersion the driver polls every heartbeatFrequencyMS instead.
// --keep-topology-version leaves the reply as CongoDB makes it (to measure
// the spin: docs/mongodb.md).
const router = server.commandRouter;
for (const name of ['hello', 'ismaster', 'isMaster']) {
	const h = router.handlers.get(name);
	if (!h || h.__parleyPatched || args.includes('--keep-topology-version'))
		continue;
	const handle = h.handle.bind(h);
	h.handle = async (ctx) => {
		const reply = await handle(ctx);
		delete reply.topologyVersion;
		return reply;
	};
	h.__parleyPatched = true;
}

await server.start();
const actual = server.server.address().port;
process.stdout.write(`ready mongodb://127.0.0.1:${actual}\n`);

let stopping = false;
async function stop() {
	if (stopping)
		return;
	stopping = true;
	try {
		await server.stop();
	} finally {
		process.exit(0);
	}
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!process.stdin.isTTY) {
	process.stdin.on('end', stop);
	process.stdin.on('error', stop);
	process.stdin.resume();
}
