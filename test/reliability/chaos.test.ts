/**
 * Chaos convergence: full syncs while both sandboxes fault 10% of API requests (429 with
 * Retry-After, 500, 503, connection resets, timeouts, expired tokens). Failed executions are
 * retried with the same input, as an admin does; the final state is compared with an oracle
 * computed here from the Dynamics data and the template's mapping, not by the nodes' code.
 */
import type { IDataObject } from 'n8n-workflow';

import type { FaultSettings } from '../../sandbox/common/server';
import { startNodeFixture, type NodeFixture } from '../nodes/fixture';
import type { TestWorkflow } from '../../sandbox/harness/engine';
import { failuresOf, loadTemplate, syncUntilQuiet, useFastRetries } from './support';
import { expectedProfile, wrongFields, type Row } from '../support/template-oracle';

const SEEDS = [11, 23, 37, 41, 59];
const CONTACTS = 20_000;
const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
const CONTACTS_UPSERT = 'Contacts: Campaign Upsert';

const KINDS = ['429', '500', '503', 'reset', 'timeout', 'tokenExpiry'] as const;

function chaos(seed: number): FaultSettings {
	return {
		rate: 0.1,
		kinds: [...KINDS],
		seed,
		retryAfter: 0,
		timeoutMs: 20,
	};
}

interface Diff {
	missing: string[];
	extra: string[];
	duplicates: string[];
	wrong: Array<{ id: string; field: string; expected: unknown; actual: unknown }>;
}

function compare(expected: Map<string, Row>, actual: Row[], key: string): Diff {
	const diff: Diff = { missing: [], extra: [], duplicates: [], wrong: [] };
	const seen = new Map<string, Row>();
	for (const row of actual) {
		const id = String(row[key]);
		if (seen.has(id)) diff.duplicates.push(id);
		seen.set(id, row);
		if (!expected.has(id)) diff.extra.push(id);
	}
	for (const [id, want] of expected) {
		const got = seen.get(id);
		if (!got) {
			diff.missing.push(id);
			continue;
		}
		for (const field of wrongFields(want, got)) {
			diff.wrong.push({ id, field, expected: want[field], actual: got[field] });
		}
	}
	return diff;
}

const NO_DIFF: Diff = { missing: [], extra: [], duplicates: [], wrong: [] };

/** The diff with its lists cut short, so a failure prints readably. */
function short(diff: Diff) {
	return {
		missing: diff.missing.slice(0, 5),
		extra: diff.extra.slice(0, 5),
		duplicates: diff.duplicates.slice(0, 5),
		wrong: diff.wrong.slice(0, 5),
	};
}

describe('Chaos convergence (10% faults on both services)', () => {
	let fx: NodeFixture;
	let restoreRetries: () => void;
	beforeAll(async () => {
		restoreRetries = useFastRetries();
		fx = await startNodeFixture({ dataverse: { demoRecords: 0 } });
	});
	afterAll(async () => {
		restoreRetries();
		await fx.close();
	});
	beforeEach(async () => {
		await fx.dataverse.setFaults({});
		await fx.campaign.setFaults({});
		await fx.dataverse.reset({ demoRecords: 0 });
		await fx.campaign.reset();
	});
	afterEach(async () => {
		await fx.dataverse.setFaults({});
		await fx.campaign.setFaults({});
	});

	async function faultsOn(seed: number) {
		await fx.dataverse.setFaults(chaos(seed));
		await fx.campaign.setFaults(chaos(seed + 1000));
	}

	async function faultsOff() {
		await fx.dataverse.setFaults({});
		await fx.campaign.setFaults({});
	}

	it.each(SEEDS)(
		'Dynamics → Campaign: 20,000 contacts, then edits and deletes, end exactly as the oracle says (seed %d)',
		async (seed) => {
			await fx.dataverse.generate('contact', CONTACTS, seed);
			const wf = fx.workflow(loadTemplate('dynamics-to-campaign'));
			// Smaller runs under heavy faults: a retried execution then repeats 1,000 records, not 5,000.
			// Small pages: metadata is kept across runs, so the pages are nearly all Dataverse serves,
			// and every kind of fault must hit it (about 450 requests, 45 faults over 6 kinds).
			wf.setParameters(CONTACTS_TRIGGER, { options: { pageSize: 50, maxRecordsPerRun: 1000 } });
			await faultsOn(seed);
			await syncUntilQuiet(wf, CONTACTS_TRIGGER, CONTACTS_UPSERT);

			// Users keep working in Dynamics during the chaos: edits, deletes, new contacts.
			const ids = (await fx.dataverse.dump('contact')).records.map((c) => String(c.contactid));
			for (let i = 0; i < 150; i++) {
				const id = ids[(i * 131 + seed) % ids.length];
				await fx.dataverse.editRecord('contact', id, {
					firstname: `Édité ${i} "quoted" 'x'`,
					gendercode: (i % 2) + 1,
				});
			}
			for (let i = 0; i < 50; i++) {
				await fx.dataverse.deleteRecord('contact', ids[(i * 397 + seed + 7) % ids.length]);
			}
			await fx.dataverse.generate('contact', 50, seed + 1);
			await syncUntilQuiet(wf, CONTACTS_TRIGGER, CONTACTS_UPSERT);
			// The faults really happened: every kind hit each service at least once.
			for (const admin of [fx.dataverse, fx.campaign]) {
				const { injected } = await admin.getFaults();
				expect(Object.keys(injected ?? {}).sort()).toEqual([...KINDS].sort());
			}
			await faultsOff();

			const contacts = (await fx.dataverse.dump('contact')).records;
			const expected = new Map(contacts.map((c) => [String(c.contactid), expectedProfile(c)]));
			const profiles = (await fx.campaign.dump('profile')).records as Row[];
			const diff = compare(expected, profiles, 'externalId');
			expect(short(diff)).toEqual(NO_DIFF);
			expect(profiles).toHaveLength(contacts.length);
		},
		// On a slower 2-core machine (2026-12-02) the suite took 21 minutes and one seed more than
		// the 5 minutes allowed then. A seed that times out keeps running in the background, into
		// the next seed's sandboxes; the next seed then failed on a duplicate key, most likely two
		// executions creating the same keys at once (not reproduced). Hence the wide margin.
		600_000,
	);

	describe('email events', () => {
		const TABLES = ['adobe_emailsend', 'adobe_emailopen', 'adobe_emailclick', 'adobe_emailbounce'];
		const TYPE_TABLE: Record<string, string> = {
			send: 'adobe_emailsend',
			open: 'adobe_emailopen',
			click: 'adobe_emailclick',
			bounce: 'adobe_emailbounce',
		};

		async function runExportUntilQuiet(wf: TestWorkflow) {
			for (let run = 0; run < 40; run++) {
				const result = await wf.run('Every 5 Minutes');
				const failed = failuresOf(result, 'Email Events Export');
				const summary = result
					.output('Email Events Export')
					.find((i) => '_summary' in i || 'summary' in i);
				const read = Number(
					((summary?._summary ?? summary?.summary) as IDataObject | undefined)?.eventsRead ?? -1,
				);
				if (failed === 0 && read === 0) return;
			}
			throw new Error('email events still moving after 40 runs');
		}

		it.each(SEEDS)(
			'every Campaign email event becomes exactly one Dynamics activity (seed %d)',
			async (seed) => {
				const contactIds = await fx.dataverse.generate('contact', 600, seed);
				const profiles = await fx.campaign.insert(
					'profile',
					contactIds.map((id, i) => ({ externalId: id, email: `p${i}@example.com` })),
				);
				await fx.campaign.simulateDelivery({
					profiles: profiles.map((p) => p.PKey),
					openRate: 0.6,
					clickRate: 0.5,
					bounceRate: 0.05,
					seed,
				});
				const events = (await fx.campaign.dump('cusEmailEvent')).records;
				const wf = fx.workflow(loadTemplate('campaign-to-dynamics'));
				await faultsOn(seed);
				await runExportUntilQuiet(wf);
				// A second delivery while faults go on: its events come exactly once too.
				await fx.campaign.simulateDelivery({
					profiles: profiles.slice(0, 200).map((p) => p.PKey),
					openRate: 1,
					seed: seed + 1,
				});
				await runExportUntilQuiet(wf);
				await faultsOff();

				const allEvents = (await fx.campaign.dump('cusEmailEvent')).records;
				expect(allEvents.length).toBeGreaterThan(events.length);
				const expected = new Map(
					allEvents.map((e) => [String(e.eventId), { table: TYPE_TABLE[String(e.type)] }]),
				);
				const rows: Row[] = [];
				for (const table of TABLES) {
					for (const r of (await fx.dataverse.dump(table)).records) rows.push({ ...r, table });
				}
				const diff = compare(expected, rows, 'adobe_eventid');
				expect(short(diff)).toEqual(NO_DIFF);
				expect(rows).toHaveLength(allEvents.length);
			},
			120_000,
		);
	});

	describe('opt-out', () => {
		// The template's pairs, with the Campaign flags as the profile names them on the wire.
		const MAPPING: Array<[string, string]> = [
			['donotemail', 'blackListEmail'],
			['donotphone', 'blackListPhone'],
			['donotfax', 'blackListFax'],
			['donotpostalmail', 'blackListPostalMail'],
		];

		it.each(SEEDS)(
			'opt-in/out changes made on either side converge on both (seed %d)',
			async (seed) => {
				const n = 300;
				const ids = await fx.dataverse.seed(
					'contact',
					Array.from({ length: n }, (_, i) => ({
						firstname: `Opt ${i}`,
						donotemail: false,
						donotphone: false,
						donotfax: false,
						donotpostalmail: false,
					})),
				);
				const profiles = await fx.campaign.insert(
					'profile',
					ids.map((id, i) => ({ externalId: id, email: `o${i}@example.com` })),
				);
				const template = loadTemplate('opt-in-out');
				// Shipped Disabled: the admin chooses Bidirectional.
				template.nodes.find((n) => n.name === 'Opt-In/Out Sync')!.parameters.direction =
					'bidirectional';
				const wf = fx.workflow(template);
				// First cycle pairs everything up (nothing to move yet).
				await wf.run('Schedule Trigger');

				// Each record gets at most one change per flag, on one side: the oracle is then simply
				// "the changed value, on both sides".
				const expected = ids.map(() => ({}) as Record<string, boolean>);
				for (let i = 0; i < n; i++) {
					const r = (i * 7919 + seed) % 10;
					const [dField, cField] = MAPPING[r % MAPPING.length];
					if (r < 4) {
						await fx.dataverse.editRecord('contact', ids[i], { [dField]: true });
						expected[i][dField] = true;
					} else if (r < 8) {
						await fx.campaign.edit('profile', profiles[i].PKey, { [cField]: true });
						expected[i][dField] = true;
					}
				}
				await faultsOn(seed);
				let quietCycles = 0;
				for (let cycle = 0; cycle < 40 && quietCycles < 2; cycle++) {
					const result = await wf.run('Schedule Trigger');
					const summary = result.output('Opt-In/Out Sync').find((i) => '_summary' in i)
						?._summary as IDataObject | undefined;
					const failed = failuresOf(result, 'Opt-In/Out Sync') > 0 || !summary;
					const moved =
						Number(summary?.writtenToDynamics ?? 0) + Number(summary?.writtenToCampaign ?? 0);
					quietCycles = !failed && moved === 0 ? quietCycles + 1 : 0;
				}
				expect(quietCycles).toBe(2);
				await faultsOff();

				const contacts = new Map(
					(await fx.dataverse.dump('contact')).records.map((c) => [String(c.contactid), c]),
				);
				const byPKey = new Map(
					(await fx.campaign.dump('profile')).records.map((p) => [String(p.PKey), p]),
				);
				const wrong: string[] = [];
				ids.forEach((id, i) => {
					for (const [dField, cField] of MAPPING) {
						const want = expected[i][dField] ?? false;
						const c = contacts.get(id)?.[dField];
						// Campaign reads an unset boolean as false.
						const p = byPKey.get(profiles[i].PKey)?.[cField] ?? false;
						if (c !== want || p !== want)
							wrong.push(`${id} ${dField}=${c} ${cField}=${p} want ${want}`);
					}
				});
				expect(wrong.slice(0, 5)).toEqual([]);
			},
			120_000,
		);
	});
});
