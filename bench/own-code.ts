/**
 * Campaign Upsert's own cost per record, apart from n8n's request helper: the whole path a record
 * takes in this package (the node's flow, the adaptive gate, retries, the Campaign client, the n8n
 * transport, its result) with a helper that answers each create at once, against a loop that only
 * hands the helper the record and parses its answer (what the ceiling's node does). Both in this
 * process, CPU time per record, so the figure does not move with the sandbox's latency or with the
 * other process on the machine. The settings checks before the first write (resource metadata,
 * the key's filter) go to the Campaign sandbox as usual; only the creates are answered here.
 */
import { writeToCampaign } from '../lib/flows/campaign-write';
import type { N8nRequestContext } from '../lib/http/n8n';
import type { SyncRecord } from '../lib/sync/envelope';
import { campaignClient } from '../nodes/shared/clients';
import { SANDBOX_DEFAULTS } from '../sandbox/defaults';
import { axiosTransport } from '../sandbox/harness/axios-transport';
import { campaignTokens, sandboxCampaignSettings } from '../sandbox/harness/tokens';
import { cpuMicrosSince } from './support';

const RESOURCE = 'profileAndServicesExt/profile';
const CREDENTIAL = 'adobeCampaignStandardApi';
/** A created profile, about as the sandbox answers one (both sides parse it). */
const CREATED = JSON.stringify({
	PKey: '@bench',
	href: 'https://campaign.example/profileAndServicesExt/profile/@bench',
	firstName: 'First',
	lastName: 'Last',
	email: 'first.last@example.com',
	externalId: 'bench',
	birthDate: '1980-06-15',
	gender: 'male',
	created: '2026-12-02 00:00:00.000Z',
	lastModified: '2026-12-02 00:00:00.000Z',
});
const CREATED_HEADERS = {
	'content-type': 'application/json;charset=utf-8',
	'content-length': String(CREATED.length),
	date: 'Wed, 02 Dec 2026 00:00:00 GMT',
	connection: 'close',
};

export interface OwnCodeFigures {
	records: number;
	rounds: number;
	/** Campaign Upsert's path, CPU µs per record (the median of the rounds). */
	oursMicros: number;
	/** The loop that only sends and parses, CPU µs per record (the median of the rounds). */
	bareMicros: number;
}

function mapped(count: number, round: number): Array<{ record: SyncRecord; index: number }> {
	return Array.from({ length: count }, (_, i) => {
		const id = `bench-${round}-${i}`;
		return {
			index: i,
			record: {
				externalId: id,
				firstName: 'First',
				lastName: `Last${i}`,
				email: `first.last${i}@example.com`,
				birthDate: '1980-06-15',
				gender: 'male',
				_sync: {
					table: 'contact',
					id,
					op: 'upsert',
					load: 'initial',
					target: {
						resource: RESOURCE,
						key: 'externalId',
						keyUnique: true,
						dynamicsKey: 'contactid',
					},
				},
			},
		};
	});
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

async function cpuMicrosPerRecord(count: number, fn: () => Promise<void>): Promise<number> {
	const start = process.cpuUsage();
	await fn();
	return cpuMicrosSince(start) / count;
}

export async function measureOwnCode(
	campaignUrl: string,
	{ records = 30_000, rounds = 3 } = {},
): Promise<OwnCodeFigures> {
	const apiBase = `${campaignUrl}/${SANDBOX_DEFAULTS.campaign.organizationId}/campaign`;
	const auth = campaignTokens(sandboxCampaignSettings(campaignUrl));
	const settingsTransport = axiosTransport({ auth });
	// n8n's helper as far as the package sees it: creates answered on the next turn of the event
	// loop, everything else sent to the sandbox.
	const helper = async (_type: string, options: Record<string, unknown>) => {
		if (options.method === 'POST') {
			await new Promise((resolve) => setImmediate(resolve));
			return { statusCode: 201, headers: CREATED_HEADERS, body: CREATED };
		}
		const answer = await settingsTransport.request({
			method: options.method as 'GET',
			url: String(options.url),
			headers: options.headers as Record<string, string>,
		});
		return {
			statusCode: answer.status,
			headers: answer.headers,
			body: JSON.stringify(answer.body),
		};
	};
	// The node's context as Campaign Upsert's client reads it: the credential names the sandbox.
	const ctx = {
		helpers: { httpRequestWithAuthentication: helper },
		getNode: () => ({ name: 'Campaign Upsert', credentials: {} }),
		getCredentials: async () => ({
			apiBaseUrl: campaignUrl,
			organizationId: SANDBOX_DEFAULTS.campaign.organizationId,
		}),
	} as unknown as N8nRequestContext;
	const ours = async (count: number, round: number) => {
		// The node's own wiring (nodes/shared/clients.ts), as Campaign Upsert's execute calls it.
		const written = await writeToCampaign(
			async ({ concurrency, hooks }) => await campaignClient(ctx, hooks, { concurrency }),
			{ records: mapped(count, round), strays: [], runs: [] },
			{ concurrency: 100, adapt: true },
			undefined,
		);
		if (written.summary.created !== count) {
			throw new Error(`own code: created ${written.summary.created} of ${count}`);
		}
	};
	const bare = async (count: number, round: number) => {
		const items = mapped(count, round);
		let next = 0;
		const worker = async () => {
			while (next < items.length) {
				const profile: Record<string, unknown> = { ...items[next++].record };
				delete profile._sync;
				const answer = await helper(CREDENTIAL, { method: 'POST', url: apiBase, body: profile });
				JSON.parse(answer.body);
			}
		};
		await Promise.all(Array.from({ length: 100 }, worker));
	};
	try {
		// Warm-up (compilation), not counted.
		await ours(2_000, -1);
		await bare(2_000, -1);
		const oursRounds: number[] = [];
		const bareRounds: number[] = [];
		for (let round = 0; round < rounds; round++) {
			oursRounds.push(await cpuMicrosPerRecord(records, () => ours(records, round)));
			bareRounds.push(await cpuMicrosPerRecord(records, () => bare(records, round)));
		}
		return {
			records,
			rounds,
			oursMicros: median(oursRounds),
			bareMicros: median(bareRounds),
		};
	} finally {
		settingsTransport.close();
		auth.close();
	}
}
