/**
 * Queue-mode throughput with one worker vs two on the same load: the Dynamics → Campaign template
 * (as shipped, but one execution per table) with N contacts and N active loyalty cards. Publishing
 * polls both triggers at once, so two executions are queued together; one worker runs them side
 * by side in one process, two workers in two processes. Time from publish until Campaign holds
 * every profile and card.
 * `npm run bench:queue [-- --count 10000]`; writes bench/queue-workers.json.
 */
import { rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CampaignSandboxAdmin } from '../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../sandbox/dataverse/admin';
import { startSandbox } from '../sandbox';
import { installRuntime } from '../sandbox/n8n/install-runtime';
import { packPackage } from '../sandbox/n8n/launcher';
import { startQueueCluster } from '../sandbox/queue/cluster';
import { createSandboxCredentials, loadWorkflow } from '../sandbox/queue/workload';

const TIERS = [100000000, 100000001, 100000002];

interface Measure {
	seconds: number;
	/** Which worker ran each execution. */
	executionsPerWorker: Record<string, number>;
}

async function measure(workers: number, count: number, tarball: string): Promise<Measure> {
	const sandbox = await startSandbox({
		dataverse: { port: 0, demoRecords: 0 },
		campaign: { port: 0 },
	});
	try {
		const cluster = await startQueueCluster({ workers, packageTarball: tarball, log: progress });
		try {
			const campaign = new CampaignSandboxAdmin(sandbox.campaign.url);
			const dataverse = new DataverseSandboxAdmin(sandbox.dataverse.url);
			await campaign.reset({ profiles: 0 });
			await dataverse.generate('contact', count, 5);
			const cards = Array.from({ length: count }, (_, i) => ({
				new_name: `Bench card ${i}`,
				new_cardnumber: `BC${String(100000 + i)}`,
				new_points: (i * 37) % 20000,
				new_tier: TIERS[i % TIERS.length],
				statecode: 0,
			}));
			await dataverse.seed('new_loyaltycard', cards);
			const { api } = cluster.main;
			const workflow = await api.createWorkflow(
				loadWorkflow(await createSandboxCredentials(api, sandbox), { maxRecordsPerRun: count }),
			);
			const started = Date.now();
			await api.publishWorkflow(workflow.id);
			const deadline = started + 20 * 60_000;
			for (;;) {
				const profiles = (await campaign.dump('profile')).records.length;
				const stored = (await campaign.dump('cusLoyaltyCard')).records.length;
				if (profiles >= count && stored >= count) break;
				if (Date.now() > deadline) {
					throw new Error(
						`${workers} worker(s): load not done in 20 min (${profiles} profiles, ${stored} cards)`,
					);
				}
				await new Promise((resolve) => setTimeout(resolve, 500));
			}
			const seconds = (Date.now() - started) / 1000;
			const failed = (await api.listExecutions({ workflowId: workflow.id, limit: 250 })).filter(
				(e) => e.status !== 'success',
			);
			if (failed.length) {
				throw new Error(
					`${workers} worker(s): executions not successful: ${failed.map((e) => `${e.id}:${e.status}`).join(', ')}`,
				);
			}
			const executionsPerWorker: Record<string, number> = {};
			for (const owner of cluster.executionOwners().values()) {
				executionsPerWorker[owner] = (executionsPerWorker[owner] ?? 0) + 1;
			}
			progress(`[bench] ${workers} worker(s): ${2 * count} records in ${seconds.toFixed(1)} s`);
			return { seconds, executionsPerWorker };
		} finally {
			await cluster.stop();
		}
	} finally {
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
	try {
		const one = await measure(1, count, tarball);
		const two = await measure(2, count, tarball);
		const records = 2 * count;
		const result = {
			case: 'queue-workers',
			load: `${count} contacts + ${count} loyalty cards: two executions queued at once (publish polls both triggers)`,
			records,
			cpus: os.cpus().length,
			workerConcurrency: 5,
			oneWorker: { ...one, recordsPerSecond: records / one.seconds },
			twoWorkers: { ...two, recordsPerSecond: records / two.seconds },
			speedup: one.seconds / two.seconds,
			note: 'Everything (sandboxes, n8n main, workers, PostgreSQL, Redis) shares the same CPUs.',
			measuredAt: new Date().toISOString(),
		};
		const file = path.join(__dirname, 'queue-workers.json');
		writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
		console.log(JSON.stringify(result, null, 2));
	} finally {
		// packPackage puts the tarball in a temporary folder of its own.
		rmSync(path.dirname(tarball), { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
