/**
 * Runs a local n8n with this package until Ctrl-C, for demos and manual checks:
 * `ts-node --transpile-only sandbox/n8n/cli.ts [--port 5678] [--fresh]`.
 *
 * Data lives in `.n8n-data/` (git-ignored) so workflows survive restarts; `--fresh` starts from an
 * empty folder. The owner login is printed; a new API key is written to `<data folder>/api-key`
 * (not printed, so it stays out of terminal logs).
 */
import { rmSync, writeFileSync } from 'fs';
import * as path from 'path';

import { installRuntime } from './install-runtime';
import { startN8n } from './launcher';

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const portArg = args.indexOf('--port');
	const port = portArg >= 0 ? Number(args[portArg + 1]) : Number(process.env.N8N_PORT ?? 5678);
	const userFolder = path.resolve(
		process.env.N8N_DATA_DIR ?? path.join(__dirname, '..', '..', '.n8n-data'),
	);
	if (args.includes('--fresh')) rmSync(userFolder, { recursive: true, force: true });

	await installRuntime();
	const n8n = await startN8n({
		userFolder,
		port,
		log: (line) => {
			if (!line.startsWith('  n8n|') || args.includes('--verbose')) console.log(line);
		},
	});
	const keyFile = path.join(n8n.userFolder, 'api-key');
	writeFileSync(keyFile, `${n8n.apiKey}\n`, { mode: 0o600 });
	console.log(
		[
			'',
			`n8n is running at ${n8n.baseUrl}`,
			`  owner login: ${n8n.owner.email} / ${n8n.owner.password}`,
			`  API key (header X-N8N-API-KEY): in ${keyFile}`,
			`  data folder: ${n8n.userFolder}`,
			'Press Ctrl-C to stop.',
		].join('\n'),
	);
	const shutdown = () => {
		n8n.stop().then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.once('SIGINT', shutdown);
	process.once('SIGTERM', shutdown);
}

main().catch((error: Error) => {
	console.error(error.message);
	process.exit(1);
});
