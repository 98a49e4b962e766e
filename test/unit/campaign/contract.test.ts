/**
 * The Campaign client fed the JSON samples of Adobe's pages (test/fixtures/campaign/, each naming
 * its source page): what the client makes of them, independent of the sandbox.
 */
import fs from 'node:fs';
import path from 'node:path';

import { CampaignApiError, CampaignClient } from '../../../lib/campaign/client';
import {
	campaignCode,
	isDeterministicCampaignAnswer,
	isDuplicateKeyError,
	readCampaignError,
} from '../../../lib/campaign/errors';
import { chooseKeyFilter, oneParameterFilters } from '../../../lib/campaign/keys';
import { readFilterTemplate, readResourceType } from '../../../lib/campaign/metadata';
import { resolveOptOutFields } from '../../../lib/campaign/optout-fields';
import { withRetry } from '../../../lib/http/retry';
import type { HttpRequest, HttpResponse, Transport } from '../../../lib/http/types';

interface Fixture {
	source: string;
	request?: string;
	status?: number;
	body?: unknown;
	[key: string]: unknown;
}

function fixture<T = Fixture>(name: string): T {
	const file = path.join(__dirname, '../../fixtures/campaign', `${name}.json`);
	return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The tenant placeholder of Adobe's samples, used as is: the client only joins and compares. */
const BASE = 'https://mc.adobe.io/<ORGANIZATION>/campaign';

/** A transport that answers each URL (without its query) from a table, and records requests. */
function answering(answers: Record<string, Omit<HttpResponse, 'headers'>>) {
	const requests: HttpRequest[] = [];
	const transport: Transport = {
		async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
			requests.push(req);
			const answer = answers[req.url.split('?')[0]] ?? answers[req.url];
			if (!answer) return { status: 404, headers: {}, body: 'no fixture' as T };
			return { status: answer.status, headers: {}, body: answer.body as T };
		},
	};
	return { transport, requests };
}

describe('Metadata samples', () => {
	it('reads the profile metadata: its fields and the href of its filters, not the filters', async () => {
		const sample = fixture('metadata-profile');
		const { transport, requests } = answering({
			[`${BASE}/profileAndServices/resourceType/profile`]: { status: 200, body: sample.body },
		});
		const client = new CampaignClient({ transport, apiBaseUrl: BASE });
		const type = await client.resourceType('profileAndServices/profile');
		expect(type).toEqual({
			name: 'profile',
			label: 'Profiles',
			fields: [{ name: 'email', label: 'email', type: 'string' }],
			filtersHref: `${BASE}/profileAndServices/resourceType/<PKEY>`,
		});
		expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([sample.request]);
	});

	it('reads the filters list: names, path segments and the parameters of each data template', async () => {
		const sample = fixture('filters-profile');
		const { transport, requests } = answering({
			[`${BASE}/profileAndServices/resourceType/<PKEY>/filters/`]: {
				status: 200,
				body: sample.body,
			},
		});
		const client = new CampaignClient({ transport, apiBaseUrl: BASE });
		const filters = await client.filters({
			name: 'profile',
			label: 'Profiles',
			fields: [],
			filtersHref: `${BASE}/profileAndServices/resourceType/<PKEY>/filters/`,
		});
		expect(requests).toHaveLength(1);
		expect(filters.map((f) => [f.name, f.segment, f.parameters.length])).toEqual([
			['birthday', 'birthday', 12],
			['byText', 'byText', 1],
		]);
		expect(filters[1]).toEqual({
			name: 'byText',
			label: 'By name or email',
			segment: 'byText',
			parameters: ['text'],
		});
		// Only a one-parameter filter can take a key value; a key is matched to it by name.
		expect(oneParameterFilters(filters).map((f) => f.name)).toEqual(['byText']);
		expect(chooseKeyFilter(filters, 'profile', 'text').name).toBe('byText');
		expect(() => chooseKeyFilter(filters, 'profile', 'externalId')).toThrow(
			/no filter named after it.*one-parameter filters: byText \(\?text\)/,
		);
		expect(() => chooseKeyFilter(filters, 'profile', 'birthDate', 'birthday')).toThrow(
			/takes 12 parameters/,
		);
	});

	it('reads custom filter URLs: generated parameter names, names without "by"', () => {
		const { urls } = fixture<{
			urls: Array<{ url: string; segment: string; parameters: string[] }>;
		}>('filter-urls');
		for (const sample of urls) {
			const template = sample.url.replace(/=[^&]*/g, '=$value');
			expect(readFilterTemplate(template)).toEqual({
				segment: sample.segment,
				parameters: sample.parameters,
			});
		}
		// A generated parameter name still names the key it filters on.
		const byAmount = {
			name: 'byAmount',
			label: 'byAmount',
			segment: 'byAmount',
			parameters: ['amount_parameter'],
		};
		expect(chooseKeyFilter([byAmount], 'profile', 'amount')).toBe(byAmount);
	});

	it('reads the custom resources answer, keyed by resource name', async () => {
		const sample = fixture('custom-resources');
		const { transport } = answering({
			[`${BASE}/profileAndServicesExt/`]: { status: 200, body: sample.body },
		});
		const client = new CampaignClient({ transport, apiBaseUrl: BASE });
		expect(await client.listCustomResources()).toEqual([
			{ name: 'cusProduct', label: 'Product', data: '/profileAndServicesExt/cusProduct/' },
			// The page repeats "name": "cusProduct" here; the records path names the resource.
			{ name: 'cusTransaction', label: 'Product', data: '/profileAndServicesExt/cusTransaction/' },
		]);
	});

	it("resolves the spec's opt-out names to the data-model page's blockList spelling", () => {
		const { fields } = fixture<{ fields: Array<Record<string, unknown>> }>(
			'datamodel-profile-optout',
		);
		const profile = readResourceType(
			{ name: 'profile', content: Object.fromEntries(fields.map((f) => [f.apiName, f])) },
			'profile',
		);
		const wire = resolveOptOutFields(profile, ['denyListEmail', 'denyList', 'blackListPhone']);
		expect(Object.fromEntries(wire)).toEqual({
			denyListEmail: { field: 'blockListEmail' },
			denyList: { field: 'blockList' },
			blackListPhone: { field: 'blockListPhone' },
		});
		expect(() => resolveOptOutFields(profile, ['ccpaOptOut'])).toThrow(
			/"ccpaOptOut" has no field \(looked for ccpaOptOut\)/,
		);
	});
});

describe('Paging sample', () => {
	it('yields the records and follows next.href as given, keeping _forcePagination=true', async () => {
		const sample = fixture('pagination');
		const next = (sample.body as { next: { href: string } }).next.href;
		const { transport, requests } = answering({
			[`${BASE}/profileAndServices/profile`]: { status: 200, body: sample.body },
			[next.split('?')[0]]: { status: 200, body: { content: [] } },
		});
		const client = new CampaignClient({ transport, apiBaseUrl: BASE });
		const pages = [];
		for await (const page of client.listPages('profileAndServices/profile', { lineCount: 1 })) {
			pages.push(page);
		}
		expect(pages[0].records).toEqual([
			{ PKey: '<PKEY>', firstName: 'John', lastName: 'Doe', birthDate: '1980-10-24' },
		]);
		expect(pages[0].nextHref).toBe(next);
		expect(requests.map((r) => r.url)).toEqual([
			`${BASE}/profileAndServices/profile?_forcePagination=true&_lineCount=1`,
			`${next}&_forcePagination=true`,
		]);
	});
});

describe('Write samples', () => {
	it('reads the PATCH answer, and the 204 without a body of Campaign v8', async () => {
		const answer = fixture('patch-answer');
		const v8 = fixture('v8-patch-empty');
		const { transport, requests } = answering({
			[`${BASE}/profileAndServices/profile/<PKEY>`]: { status: 200, body: answer.body },
			[`${BASE}/profileAndServicesExt/profile/<PKEY>`]: { status: v8.status!, body: v8.body },
		});
		const client = new CampaignClient({ transport, apiBaseUrl: BASE });
		expect(
			await client.patch(
				`${BASE}/profileAndServices/profile/<PKEY>`,
				answer.requestBody as Record<string, unknown>,
			),
		).toEqual(answer.body);
		expect(await client.patch(`${BASE}/profileAndServicesExt/profile/<PKEY>`, {})).toEqual({});
		expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([answer.request, v8.request]);
	});
});

describe('Error samples', () => {
	interface ErrorSample {
		source: string;
		case: string;
		status: number;
		body?: unknown;
		message?: string;
		code: string;
		deterministic: boolean;
		duplicateKey?: boolean;
	}
	const { answers } = fixture<{ answers: ErrorSample[] }>('errors');
	/** The bodies an answer may come in: as printed, or (message only) both of Campaign's bodies. */
	const bodiesOf = (a: ErrorSample): unknown[] =>
		a.body !== undefined ? [a.body] : [{ code: a.status, message: a.message }, a.message];

	it.each(answers.map((a) => [a.case, a] as const))(
		'reads %s with its code and message, and tells whether it is deterministic',
		(_case, a) => {
			for (const body of bodiesOf(a)) {
				const read = readCampaignError(body, a.status);
				// Without a Campaign code, a {"code","message"} body's code is the status it repeats.
				expect(read.code).toBe(a.code || (typeof body === 'object' ? String(a.status) : ''));
				expect(read.message).toBe(
					typeof body === 'string' ? body : (body as { message: string }).message,
				);
				expect(isDeterministicCampaignAnswer({ status: a.status, headers: {}, body })).toBe(
					a.deterministic && a.status === 500,
				);
				const error = new CampaignApiError(a.status, read.code, read.message, 'POST x');
				expect(isDuplicateKeyError(error)).toBe(a.duplicateKey === true);
			}
		},
	);

	it('sends a replay-safe write once when its 500 names a cause, up to five times when not', async () => {
		const named = answers.find((a) => a.duplicateKey)!;
		const unnamed = answers.find((a) => a.case === 'a failure without a named cause')!;
		for (const [sample, attempts] of [
			[named, 1],
			[unnamed, 5],
		] as const) {
			const { transport, requests } = answering({
				[`${BASE}/profileAndServicesExt/cusProduct`]: {
					status: 500,
					body: { code: 500, message: sample.message },
				},
			});
			const client = new CampaignClient({
				transport: withRetry(transport, { sleep: async () => {}, baseDelayMs: 1 }),
				apiBaseUrl: BASE,
			});
			const error = await client
				.create('profileAndServicesExt/cusProduct', { name: 'SVC4' }, { repeatSafe: true })
				.catch((e: unknown) => e as CampaignApiError);
			expect(requests).toHaveLength(attempts);
			expect(error).toBeInstanceOf(CampaignApiError);
			expect(error.code).toBe(sample.code);
		}
	});

	it('takes the most telling code of a message', () => {
		expect(campaignCode('RST-360011 x RST-360012 y')).toBe('RST-360012');
		expect(campaignCode('RST-360011 only')).toBe('RST-360011');
		expect(campaignCode('no code')).toBe('');
	});
});
