/**
 * B7 Campaign's limits: an initial load of the template's contacts chain (key declared unique, so
 * one request per record) into a Campaign sandbox whose gateway throttles, at a number of requests
 * in flight or at a number of requests per second, answering 429 (Retry-After 1 s) beyond it.
 * Campaign Upsert with its adaptive concurrency (the template's Concurrency as its ceiling) against
 * the same load with the fixed setting it had before (the template's 50 at once). Failed records go
 * to the error output and are counted. Under a concurrency limit, a third peer: n8n's request
 * helper alone, one request per record at exactly the limit (as if it knew the limit), the most a
 * node can get from that gateway through the helper on this machine; and a fourth: Campaign Upsert
 * fixed at one request above the limit, to show whether sending more than the gateway takes gets
 * past what the helper gets at the limit, at the cost of each refusal waited out for a second.
 */
import type { IDataObject } from 'n8n-workflow';

import {
	chainOf,
	engine,
	generateContacts,
	loadTemplate,
	startSandboxProcess,
	sumCounters,
	type SandboxProcess,
	timed,
} from '../support';
import {
	ceilingProfile,
	CONTACTS_MAPPING,
	CONTACTS_TRIGGER,
	CONTACTS_UPSERT,
	prepareCeiling,
} from './b2-sync';

export interface LimitsParams {
	variant: 'adaptive' | 'fixed' | 'aboveLimit' | 'helperAtLimit';
	count: number;
	/** Campaign's latency on every request. */
	latencyMs: number;
	/** The gateway's limit: requests in flight, or requests per second. */
	maxConcurrent?: number;
	maxPerSecond?: number;
}

/** The template's Concurrency before it became a ceiling, when it was fixed. */
const FIXED_CONCURRENCY = 50;

export async function run(params: LimitsParams): Promise<IDataObject> {
	const sandbox = await startSandboxProcess();
	try {
		if (params.variant === 'helperAtLimit') {
			// Profiles to look up, as the ceiling of B2 does: an answer carrying a record.
			for (let i = 0; i < params.count; i += 10_000) {
				const profiles = Array.from({ length: Math.min(10_000, params.count - i) }, (_, k) =>
					ceilingProfile(i + k),
				);
				await sandbox.campaignAdmin.insert('profile', profiles);
			}
		} else {
			await generateContacts(sandbox.dataverseAdmin, params.count, 61);
		}
		await sandbox.campaignAdmin.setLatency(params.latencyMs);
		await sandbox.campaignAdmin.setFaults({
			...(params.maxConcurrent ? { maxConcurrent: params.maxConcurrent } : {}),
			...(params.maxPerSecond ? { maxPerSecond: params.maxPerSecond } : {}),
			retryAfter: 1,
		});
		await sandbox.campaignAdmin.resetCounters();
		const load =
			params.variant === 'helperAtLimit'
				? await helperAtLimit(sandbox, params)
				: await chainLoad(sandbox, params);
		const counters = await sandbox.campaignAdmin.counters();
		const requests = sumCounters(counters, /^(?!POST ims:token)/);
		const faults = await sandbox.campaignAdmin.getFaults();
		const throttled = faults.injected?.['429'] ?? 0;
		const served = requests - throttled;
		// A concurrency limit's bound: the places ÷ how long a request really held one (the latency
		// plus the sandbox's own time on this machine); the nominal one uses the latency alone.
		const heldMs = faults.held?.requests ? faults.held.ms / faults.held.requests : undefined;
		const nominal = params.maxPerSecond ?? (params.maxConcurrent! * 1000) / params.latencyMs;
		const bound =
			params.maxPerSecond ?? (params.maxConcurrent! * 1000) / (heldMs ?? params.latencyMs);
		const { seconds } = load;
		return {
			...params,
			...load,
			campaignRequests: requests,
			throttled,
			throttledShare: throttled / requests,
			servedPerSecond: served / seconds,
			boundPerSecond: bound,
			nominalBoundPerSecond: nominal,
			...(heldMs !== undefined ? { heldMs } : {}),
			ratioToBound: served / seconds / bound,
		};
	} finally {
		await sandbox.close();
	}
}

/** The template's contacts chain, polled until quiet, with Campaign Upsert adaptive or fixed. */
async function chainLoad(sandbox: SandboxProcess, params: LimitsParams) {
	const template = chainOf(loadTemplate('dynamics-to-campaign.json'), CONTACTS_TRIGGER);
	const upsert = template.nodes.find((n) => n.name === CONTACTS_UPSERT)!;
	upsert.onError = 'continueErrorOutput';
	const wf = engine(sandbox).workflow(template);
	wf.setParameters(CONTACTS_TRIGGER, { options: { pageSize: 5000, maxRecordsPerRun: 5000 } });
	wf.setParameters(CONTACTS_MAPPING, { campaignKeyUnique: true });
	if (params.variant === 'fixed' || params.variant === 'aboveLimit') {
		if (params.variant === 'aboveLimit' && !params.maxConcurrent) {
			throw new Error('aboveLimit needs a concurrency limit');
		}
		wf.setParameters(CONTACTS_UPSERT, {
			concurrency: params.variant === 'aboveLimit' ? params.maxConcurrent! + 1 : FIXED_CONCURRENCY,
			adaptConcurrency: false,
		});
	}
	const totals = { runs: 0, created: 0, failed: 0 };
	const concurrencyPerRun: number[] = [];
	const { seconds } = await timed(async () => {
		for (;;) {
			const run = await wf.pollAndRun(CONTACTS_TRIGGER);
			if (!run) break;
			if (run.error) throw run.error;
			totals.runs++;
			const summary = run.output(CONTACTS_UPSERT).at(-1)?._summary as IDataObject | undefined;
			totals.created += Number(summary?.created ?? 0);
			totals.failed += run.output(CONTACTS_UPSERT, 1).length;
			concurrencyPerRun.push(Number(summary?.concurrency ?? 0));
		}
	});
	if (totals.created + totals.failed !== params.count) {
		throw new Error(
			`${totals.created} created and ${totals.failed} failed of ${params.count} records`,
		);
	}
	return { seconds, ...totals, concurrencyPerRun };
}

/** n8n's request helper alone, one lookup per record, exactly as many at once as the limit. */
async function helperAtLimit(sandbox: SandboxProcess, params: LimitsParams) {
	if (!params.maxConcurrent) throw new Error('helperAtLimit needs a concurrency limit');
	const ceiling = prepareCeiling(sandbox, params.count, 'lookup', params.maxConcurrent);
	const { seconds } = await timed(ceiling);
	return {
		seconds,
		runs: 1,
		created: 0,
		failed: 0,
		concurrencyPerRun: [params.maxConcurrent],
	};
}
