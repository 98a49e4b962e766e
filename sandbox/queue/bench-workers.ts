/**
 * Queue-mode throughput with one worker vs two on the same load (the Dynamics → Campaign template,
 * N contacts, initial load): `ts-node --transpile-only sandbox/queue/bench-workers.ts [--count 10000]`.
 * Writes bench/queue-workers.json.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CampaignSandboxAdmin } from '../campaign/admin';
import { DataverseSandboxAdmin } from '../dataverse/admin';
import { startSandbox } from '../index';
import { installRuntime } from '../n8n/install-runtime';
import { packPackage } from '../n8n/launcher';
import { startQueueCluster } from './cluster';
import { createSandboxCredentials, loadWorkflow } from './workload';

async function measure(workers: number, count: number, tarball: string): Promise<number> {
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	const cluster = await startQueueCluster({ workers, packageTarball: tarball, log: progress });
	try {
		const campaign = new CampaignSandboxAdmin(sandbox.campaign.url);
		await campaign.reset({ profiles: 0 });
		await new DataverseSandboxAdmin(sandbox.dataverse.url).generate('contact', count, 5);
		const { api } = cluster.main;
		const workflow = await api.createWorkflow(
			loadWorkflow(await createSandboxCredentials(api, sandbox), { pollSeconds: 2 }),
		);
		const started = Date.now();
		await api.publishWorkflow(workflow.id);
		const deadline = started + 20 * 60_000;
		while ((await campaign.dump('profile')).records.length < count) {
			if (Date.now() > deadline) throw new Error(`${workers} worker(s): load not done in 20 min`);
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		const seconds = (Date.now() - started) / 1000;
		progress(`[bench] ${workers} worker(s): ${count} records in ${seconds.toFixed(1)} s`);
		return seconds;
	} finally {
		await cluster.stop();
		await sandbox.close();
	}
}

function progress(line: string): void {
	if (line.startsWith('[')) process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const index = args.indexOf('--count');
	const count = index >= 0 ? Number(args[index + 1]) : 10_000;
	await installRuntime({ log: progress });
	const tarball = await packPackage(undefined, progress);
	const one = await measure(1, count, tarball);
	const two = await measure(2, count, tarball);
	const result = {
		case: 'queue-workers',
		records: count,
		cpus: os.cpus().length,
		oneWorker: { seconds: one, recordsPerSecond: count / one },
		twoWorkers: { seconds: two, recordsPerSecond: count / two },
		speedup: one / two,
		measuredAt: new Date().toISOString(),
	};
	const file = path.resolve(__dirname, '..', '..', 'bench', 'queue-workers.json');
	mkdirSync(path.dirname(file), { recursive: true });
	writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
	console.log(JSON.stringify(result, null, 2));
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
