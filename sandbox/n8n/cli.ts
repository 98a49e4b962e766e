/**
 * Runs a local n8n with this package until Ctrl-C, for demos and manual checks:
 * `ts-node --transpile-only sandbox/n8n/cli.ts [--port 5678] [--fresh] [--with-sandbox] [--verbose]`.
 *
 * `--with-sandbox` also starts both API sandboxes on their default ports and, once per data folder,
 * creates n8n credentials pointing at them ("Sandbox Dynamics 365", "Sandbox Adobe Campaign").
 *
 * Data lives in `.n8n-data/` (git-ignored) so workflows survive restarts; `--fresh` starts from an
 * empty folder. The owner login is printed; a new API key is written to `<data folder>/api-key`
 * (not printed, so it stays out of terminal logs).
 */
import { existsSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

import { SANDBOX_DEFAULTS } from '../defaults';
import { Sandboxes, startSandbox } from '../index';
import { N8nApi } from './api';
import { installRuntime } from './install-runtime';
import { startN8n } from './launcher';
import { sandboxCredentialData } from './sandbox-credentials';

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const portArg = args.indexOf('--port');
	const port = portArg >= 0 ? Number(args[portArg + 1]) : Number(process.env.N8N_PORT ?? 5678);
	const userFolder = path.resolve(
		process.env.N8N_DATA_DIR ?? path.join(__dirname, '..', '..', '.n8n-data'),
	);
	if (args.includes('--fresh')) rmSync(userFolder, { recursive: true, force: true });

	await installRuntime();
	// Fixed ports, so the credentials stored in the data folder stay valid across restarts.
	const sandbox = args.includes('--with-sandbox')
		? await startSandbox({
				dataverse: { port: SANDBOX_DEFAULTS.dataverse.port },
				campaign: { port: SANDBOX_DEFAULTS.campaign.port },
			})
		: undefined;
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
	if (sandbox) {
		console.log(`Sandboxes: Dataverse ${sandbox.dataverse.url}, Campaign ${sandbox.campaign.url}`);
		await createSandboxCredentials(n8n.api, sandbox, n8n.userFolder);
	}
	const shutdown = () => {
		Promise.all([n8n.stop(), sandbox?.close()]).then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.once('SIGINT', shutdown);
	process.once('SIGTERM', shutdown);
}

/** Once per data folder, so restarts don't pile up copies. */
async function createSandboxCredentials(
	api: N8nApi,
	sandbox: Sandboxes,
	userFolder: string,
): Promise<void> {
	const doneFile = path.join(userFolder, 'sandbox-credentials.json');
	if (existsSync(doneFile)) return;
	const data = sandboxCredentialData(sandbox);
	const dynamics = await api.createCredential({
		name: 'Sandbox Dynamics 365',
		type: 'dynamics365Api',
		data: data.dynamics365Api,
	});
	const campaign = await api.createCredential({
		name: 'Sandbox Adobe Campaign',
		type: 'adobeCampaignStandardApi',
		data: data.adobeCampaignStandardApi,
	});
	writeFileSync(doneFile, JSON.stringify({ dynamics: dynamics.id, campaign: campaign.id }) + '\n');
	console.log(`Created n8n credentials "${dynamics.name}" and "${campaign.name}"`);
}

main().catch((error: Error) => {
	console.error(error.message);
	process.exit(1);
});
