/**
 * Runs a local n8n with this package until Ctrl-C, for demos and manual checks:
 * `ts-node --transpile-only sandbox/n8n/cli.ts [--port 5678] [--fresh] [--with-sandbox]
 * [--schedule-seconds 60] [--verbose]` (`npm start` = `--with-sandbox`).
 *
 * `--with-sandbox` also starts both API sandboxes on their default ports (state kept in the data
 * folder), and, once per data folder, creates n8n credentials pointing at them and imports and
 * publishes the demo of the three templates (see loadDemo in templates.ts; Schedule Triggers every
 * `--schedule-seconds`; the Dynamics 365 Trigger polls every minute). While it runs it prints one line per finished execution: what each
 * node wrote and the backlog.
 *
 * Data lives in `.n8n-data/` (git-ignored) so workflows survive restarts; `--fresh` starts from an
 * empty folder. The owner login is printed; a new API key is written to `<data folder>/api-key`
 * (not printed, so it stays out of terminal logs).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

import { CampaignSandboxAdmin } from '../campaign/admin';
import { SANDBOX_DEFAULTS } from '../defaults';
import { Sandboxes, startSandbox } from '../index';
import type { Execution, N8nApi } from './api';
import { installRuntime } from './install-runtime';
import { N8nInstance, startN8n } from './launcher';
import { sandboxCredentialData } from './sandbox-credentials';
import {
	CredentialRefs,
	TEMPLATE_FILES,
	TemplateName,
	executionSummaries,
	publishDemo,
	watchExecutions,
} from './templates';

function option(args: string[], name: string): string | undefined {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const port = Number(option(args, '--port') ?? process.env.N8N_PORT ?? 5678);
	const scheduleSeconds = Number(option(args, '--schedule-seconds') ?? 60);
	const withSandbox = args.includes('--with-sandbox');
	const userFolder = path.resolve(
		process.env.N8N_DATA_DIR ?? path.join(__dirname, '..', '..', '.n8n-data'),
	);
	if (args.includes('--fresh')) rmSync(userFolder, { recursive: true, force: true });
	mkdirSync(userFolder, { recursive: true });

	// Everything started so far, stopped in reverse order on Ctrl-C or on a failed start.
	const stoppers: Array<() => Promise<unknown> | void> = [];
	let stopping = false;
	const shutdown = (code: number) => {
		if (stopping) return;
		stopping = true;
		console.log('\nStopping…');
		const run = async () => {
			for (const stop of stoppers.reverse()) {
				try {
					await stop();
				} catch (error) {
					console.error(`while stopping: ${(error as Error).message}`);
				}
			}
		};
		run().then(
			() => process.exit(code),
			() => process.exit(1),
		);
	};
	process.once('SIGINT', () => shutdown(0));
	process.once('SIGTERM', () => shutdown(0));

	try {
		await installRuntime();
		let sandbox: Sandboxes | undefined;
		if (withSandbox) {
			const stateDir = path.join(userFolder, 'sandbox');
			mkdirSync(stateDir, { recursive: true });
			// Fixed ports, so the credentials stored in the data folder stay valid across restarts.
			sandbox = await startSandbox({
				dataverse: {
					port: SANDBOX_DEFAULTS.dataverse.port,
					persistFile: path.join(stateDir, 'dataverse.json'),
				},
				campaign: {
					port: SANDBOX_DEFAULTS.campaign.port,
					persistFile: path.join(stateDir, 'campaign.json'),
				},
			});
			const started = sandbox;
			stoppers.push(() => started.close());
		}
		const n8n = await startN8n({
			userFolder,
			port,
			log: (line) => {
				if (!line.startsWith('  n8n|') || args.includes('--verbose')) console.log(line);
			},
		});
		if (stopping) {
			// Ctrl-C came while n8n was starting: the shutdown already ran without it.
			await n8n.stop();
			return;
		}
		stoppers.push(() => n8n.stop());
		const keyFile = path.join(n8n.userFolder, 'api-key');
		writeFileSync(keyFile, `${n8n.apiKey}\n`, { mode: 0o600 });
		console.log(
			[
				'',
				`n8n editor: ${n8n.baseUrl}`,
				`  login: ${n8n.owner.email} / ${n8n.owner.password}`,
				`  API key (header X-N8N-API-KEY): in ${keyFile}`,
				`  data folder: ${n8n.userFolder}`,
			].join('\n'),
		);
		if (sandbox) {
			console.log(
				`Sandboxes: Dataverse ${sandbox.dataverse.url}, Campaign ${sandbox.campaign.url} ` +
					'(admin API under /_sandbox/, see sandbox/README.md)',
			);
			const credentials = await createSandboxCredentials(n8n.api, sandbox, n8n.userFolder);
			const workflows = await importTemplates(n8n, credentials, scheduleSeconds);
			console.log('Published workflows:');
			for (const workflow of workflows) {
				console.log(`  ${workflow.name}: ${n8n.baseUrl}/workflow/${workflow.id}`);
			}
			const demo = demoDelivery(sandbox, n8n.userFolder, workflows);
			stoppers.push(
				watchExecutions(n8n.api, workflows, (line, execution) => {
					console.log(line);
					if (execution) void demo(execution);
				}),
			);
		}
		console.log('Syncing; one line per finished execution. Press Ctrl-C to stop.\n');
	} catch (error) {
		console.error((error as Error).message);
		shutdown(1);
	}
}

/** Once per data folder, so restarts don't pile up copies. */
async function createSandboxCredentials(
	api: N8nApi,
	sandbox: Sandboxes,
	userFolder: string,
): Promise<CredentialRefs> {
	const doneFile = path.join(userFolder, 'sandbox-credentials.json');
	if (existsSync(doneFile)) return JSON.parse(readFileSync(doneFile, 'utf8')) as CredentialRefs;
	const data = sandboxCredentialData(sandbox);
	const refs: CredentialRefs = {};
	for (const [type, name] of [
		['dynamics365Api', 'Sandbox Dynamics 365'],
		['adobeCampaignStandardApi', 'Sandbox Adobe Campaign'],
	] as const) {
		const created = await api.createCredential({ name, type, data: data[type] });
		refs[type] = { id: created.id, name: created.name };
	}
	writeFileSync(doneFile, JSON.stringify(refs) + '\n');
	console.log('Created n8n credentials "Sandbox Dynamics 365" and "Sandbox Adobe Campaign"');
	return refs;
}

/** Imports and publishes the demo of the templates once per data folder; later starts reuse them. */
async function importTemplates(
	n8n: N8nInstance,
	credentials: CredentialRefs,
	scheduleSeconds: number,
): Promise<Array<{ id: string; name: string }>> {
	const doneFile = path.join(n8n.userFolder, 'templates.json');
	if (existsSync(doneFile)) {
		return JSON.parse(readFileSync(doneFile, 'utf8')) as Array<{ id: string; name: string }>;
	}
	console.log(`Importing and publishing ${Object.values(TEMPLATE_FILES).join(', ')}`);
	const published = await publishDemo(n8n.api, credentials, { scheduleSeconds });
	const workflows = (Object.keys(published) as TemplateName[]).map((name) => ({
		id: published[name].id,
		name: published[name].name,
		template: name,
	}));
	writeFileSync(doneFile, JSON.stringify(workflows, null, 2) + '\n');
	return workflows;
}

/**
 * Once the first profiles reach Campaign, simulates one email delivery to them (once per data
 * folder), so the Campaign → Dynamics 365 workflow has events to export in the demo.
 */
function demoDelivery(
	sandbox: Sandboxes,
	userFolder: string,
	workflows: Array<{ id: string; name: string; template?: string }>,
): (execution: Execution) => Promise<void> {
	const doneFile = path.join(userFolder, 'demo-delivery.json');
	const toCampaign = workflows.find((w) => w.template === 'dynamicsToCampaign');
	let busy = false;
	return async (execution) => {
		if (busy || existsSync(doneFile) || execution.workflowId !== toCampaign?.id) return;
		const created = Object.values(executionSummaries(execution)).some(
			(summary) => Number(summary.created ?? 0) > 0,
		);
		if (!created) return;
		busy = true;
		try {
			const admin = new CampaignSandboxAdmin(sandbox.campaign.url);
			const result = await admin.simulateDelivery({
				count: 20,
				campaignName: 'Demo campaign',
				deliveryName: 'Welcome newsletter',
			});
			writeFileSync(doneFile, JSON.stringify(result) + '\n');
			console.log('Simulated an email delivery to 20 profiles in the Campaign sandbox');
		} catch (error) {
			console.error(`demo delivery failed: ${(error as Error).message}`);
		} finally {
			busy = false;
		}
	};
}

void main();
