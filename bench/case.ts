/**
 * Runs one benchmark case in this process and prints `RESULT <json>` (the orchestrator starts each
 * case in a fresh process so that cases do not share heap, caches or peak memory).
 */
import type { IDataObject } from 'n8n-workflow';

const CASES: Record<string, () => Promise<{ run(params: never): Promise<IDataObject> }>> = {
	b1: () => import('./cases/b1-transform'),
	b2: () => import('./cases/b2-sync'),
	b3: () => import('./cases/b3-scale'),
	b4: () => import('./cases/b4-events'),
	b5: () => import('./cases/b5-optout'),
	b6: () => import('./cases/b6-optout-first-cycle'),
	b7: () => import('./cases/b7-limits'),
	'seed-profiles': () => import('./cases/seed-profiles'),
};

async function main() {
	const [name, json] = process.argv.slice(2);
	const load = CASES[name];
	if (!load) throw new Error(`unknown case ${name}; known: ${Object.keys(CASES).join(', ')}`);
	const module = await load();
	const result = await module.run(JSON.parse(json ?? '{}') as never);
	process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().then(
	() => process.exit(0),
	(error) => {
		process.stderr.write(`${error?.stack ?? error}\n`);
		process.exit(1);
	},
);
