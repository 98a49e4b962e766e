/**
 * `npm run sandbox`: both sandboxes on loopback until Ctrl-C.
 *
 * Environment overrides: DATAVERSE_SANDBOX_PORT, DATAVERSE_SANDBOX_TENANT_ID,
 * DATAVERSE_SANDBOX_CLIENT_ID, DATAVERSE_SANDBOX_CLIENT_SECRET, DATAVERSE_SANDBOX_TOKEN_LIFETIME,
 * CAMPAIGN_SANDBOX_PORT, CAMPAIGN_SANDBOX_ORG_ID, CAMPAIGN_SANDBOX_CLIENT_ID,
 * CAMPAIGN_SANDBOX_CLIENT_SECRET, CAMPAIGN_SANDBOX_TOKEN_LIFETIME, SANDBOX_HOST, SANDBOX_SEED,
 * SANDBOX_PERSIST_DIR (or `--persist <dir>`: state is kept in <dir>/dataverse.json and
 * <dir>/campaign.json across restarts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SANDBOX_DEFAULTS } from './defaults';
import { startSandbox } from './index';

function env(name: string): string | undefined {
	const value = process.env[name];
	return value === undefined || value === '' ? undefined : value;
}

function envNumber(name: string, fallback: number): number {
	const raw = env(name);
	if (raw === undefined) return fallback;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 0)
		throw new Error(`${name} must be a non-negative integer, got '${raw}'.`);
	return n;
}

function persistDir(argv: string[]): string | undefined {
	const index = argv.indexOf('--persist');
	if (index >= 0) {
		const dir = argv[index + 1];
		if (!dir || dir.startsWith('--')) throw new Error('--persist needs a directory.');
		return dir;
	}
	return env('SANDBOX_PERSIST_DIR');
}

async function main(): Promise<void> {
	const host = env('SANDBOX_HOST') ?? SANDBOX_DEFAULTS.host;
	const seed = envNumber('SANDBOX_SEED', 1);
	const dir = persistDir(process.argv.slice(2));
	if (dir) fs.mkdirSync(dir, { recursive: true });
	const dv = SANDBOX_DEFAULTS.dataverse;
	const cp = SANDBOX_DEFAULTS.campaign;
	const dataverse = {
		tenantId: env('DATAVERSE_SANDBOX_TENANT_ID') ?? dv.tenantId,
		clientId: env('DATAVERSE_SANDBOX_CLIENT_ID') ?? dv.clientId,
		clientSecret: env('DATAVERSE_SANDBOX_CLIENT_SECRET') ?? dv.clientSecret,
	};
	const campaign = {
		organizationId: env('CAMPAIGN_SANDBOX_ORG_ID') ?? cp.organizationId,
		clientId: env('CAMPAIGN_SANDBOX_CLIENT_ID') ?? cp.clientId,
		clientSecret: env('CAMPAIGN_SANDBOX_CLIENT_SECRET') ?? cp.clientSecret,
	};
	const sandboxes = await startSandbox({
		dataverse: {
			host,
			port: envNumber('DATAVERSE_SANDBOX_PORT', dv.port),
			tenantId: dataverse.tenantId,
			clients: [{ clientId: dataverse.clientId, clientSecret: dataverse.clientSecret }],
			tokenLifetimeSeconds: envNumber('DATAVERSE_SANDBOX_TOKEN_LIFETIME', dv.tokenLifetimeSeconds),
			seed,
			persistFile: dir ? path.join(dir, 'dataverse.json') : undefined,
		},
		campaign: {
			host,
			port: envNumber('CAMPAIGN_SANDBOX_PORT', cp.port),
			organizationId: campaign.organizationId,
			clients: [{ clientId: campaign.clientId, clientSecret: campaign.clientSecret }],
			tokenLifetimeSeconds: envNumber('CAMPAIGN_SANDBOX_TOKEN_LIFETIME', cp.tokenLifetimeSeconds),
			seed,
			persistFile: dir ? path.join(dir, 'campaign.json') : undefined,
		},
	});
	const d = sandboxes.dataverse;
	const c = sandboxes.campaign;
	const lines = [
		'Local sandboxes are running (Ctrl-C to stop). The credentials below are the sandbox defaults,',
		'not secrets of any real service.',
		'',
		'Dynamics 365 / Dataverse',
		`  Environment URL   ${d.url}`,
		`  Web API           ${d.url}/api/data/v9.2/`,
		`  Authority host    ${d.url}`,
		`  Tenant ID         ${dataverse.tenantId}`,
		`  Client ID         ${dataverse.clientId}`,
		`  Client secret     ${dataverse.clientSecret}`,
		`  Admin API         ${d.url}/_sandbox/`,
		'',
		'Adobe Campaign Standard',
		`  API base URL      ${c.url}`,
		`  IMS host          ${c.url}`,
		`  Organization ID   ${campaign.organizationId}`,
		`  Client ID         ${campaign.clientId}   (also the X-Api-Key)`,
		`  Client secret     ${campaign.clientSecret}`,
		`  Scopes            ${cp.scopes}`,
		`  REST base         ${c.apiBase}`,
		`  Admin API         ${c.url}/_sandbox/`,
		'',
		dir
			? `State is saved in ${path.resolve(dir)}.`
			: 'State is in memory only (use --persist <dir> to keep it).',
	];
	console.log(lines.join('\n'));

	let closing = false;
	const stop = async (signal: string) => {
		if (closing) return;
		closing = true;
		console.log(`\n${signal}: stopping the sandboxes…`);
		await sandboxes.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
	console.error(
		`Sandbox failed to start: ${error instanceof Error ? error.message : String(error)}`,
	);
	process.exit(1);
});
