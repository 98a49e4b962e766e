/**
 * n8n in queue mode until Ctrl-C: PostgreSQL + Redis (temporary data), n8n main and workers, both
 * API sandboxes, sandbox credentials, and the three templates published.
 * `ts-node --transpile-only sandbox/queue/cli.ts [--workers 2] [--no-durable-cursors] [--verbose]`
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import { startSandbox } from '../index';
import { installRuntime } from '../n8n/install-runtime';
import { sandboxCredentialData } from '../n8n/sandbox-credentials';
import { workflowForApi, type WorkflowFile } from '../n8n/templates';
import { startQueueCluster } from './cluster';

const TEMPLATES = ['dynamics-to-campaign', 'campaign-to-dynamics', 'opt-in-out'];

function option(args: string[], name: string): string | undefined {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const verbose = args.includes('--verbose');
	const log = (line: string) => {
		if (verbose || line.startsWith('[')) console.log(line);
	};
	await installRuntime({ log });
	const sandbox = await startSandbox({ dataverse: { port: 0 }, campaign: { port: 0 } });
	let cluster: Awaited<ReturnType<typeof startQueueCluster>> | undefined;
	const stop = async (code: number) => {
		console.log('\nStopping…');
		await cluster?.stop();
		await sandbox.close();
		process.exit(code);
	};
	process.once('SIGINT', () => void stop(0));
	process.once('SIGTERM', () => void stop(0));
	try {
		cluster = await startQueueCluster({
			workers: Number(option(args, '--workers') ?? 2),
			durableCursors: !args.includes('--no-durable-cursors'),
			log,
		});
		const { api } = cluster.main;
		const data = sandboxCredentialData(sandbox);
		const credentials: Record<string, { id: string; name: string }> = {};
		for (const type of ['dynamics365Api', 'adobeCampaignStandardApi'] as const) {
			const created = await api.createCredential({
				name: `Sandbox ${type}`,
				type,
				data: data[type],
			});
			credentials[type] = { id: created.id, name: created.name };
		}
		for (const name of TEMPLATES) {
			const file = path.resolve(__dirname, '..', '..', 'templates', `${name}.json`);
			const body = workflowForApi(
				JSON.parse(readFileSync(file, 'utf8')) as WorkflowFile,
				credentials,
			);
			const created = await api.createWorkflow(body);
			await api.publishWorkflow(created.id);
			console.log(`published ${name} (workflow ${created.id})`);
		}
		console.log(`\nn8n (queue mode) at ${cluster.main.baseUrl}`);
		console.log(`  login ${cluster.main.owner.email} / ${cluster.main.owner.password}`);
		console.log(`  workers: ${cluster.workers.map((w) => `${w.name} pid ${w.pid}`).join(', ')}`);
		console.log(
			`  PostgreSQL 127.0.0.1:${cluster.postgres.port}, Redis 127.0.0.1:${cluster.redis.port}`,
		);
		console.log(
			`  Dataverse sandbox ${sandbox.dataverse.url}, Campaign sandbox ${sandbox.campaign.url}`,
		);
		console.log('Ctrl-C stops everything and removes the temporary data.');
	} catch (error) {
		console.error((error as Error).message);
		await stop(1);
	}
}

void main();
