/**
 * The shipped templates in a real n8n, as a suite any n8n release can run: imported through n8n's
 * public API (our package installed as a community package), as the demo of `npm start` has them
 * (loadDemo: the sandbox's loyalty-card chain added, opt-in/out both ways, successful executions
 * saved so the tests can read what each one wrote), published against the sandboxes,
 * fed through the sandbox admin API as users of Dynamics 365 and Campaign would change data, and
 * awaited (bounded) until the published workflows carry the change over. n8n starts once per suite.
 *
 * test/e2e/templates.test.ts runs every scenario on the pinned n8n; the version matrix
 * (test/e2e/n8n-versions-*.test.ts) runs a subset on the other releases.
 *
 * The Dynamics 365 Trigger polls every minute (n8n refuses shorter poll intervals); publishing a
 * workflow also polls at once. Schedule Triggers are set to every few seconds in the test copies.
 */
import type { Execution, Workflow, WorkflowDefinition } from '../../sandbox/n8n/api';
import { N8N_VERSION } from '../../sandbox/n8n/install-runtime';
import {
	executionSummaries,
	loadDemo,
	loadTemplate,
	nodeOutput,
	withNodeParameters,
	withScheduleEvery,
	withSuccessfulExecutionsSaved,
	workflowForApi,
} from '../../sandbox/n8n/templates';
import {
	E2eEnvironment,
	N8N_SETUP_TIMEOUT_MS,
	declaredTypes,
	n8nLogTail,
	startE2eEnvironment,
	waitFor,
} from './n8n';
import { expectedProfile, wrongFields, type Row } from './template-oracle';

/**
 * - `package`: every node and credential type of the package loads.
 * - `initialLoad`, `incremental`: Dynamics 365 → Campaign converges on the first load, then on
 *   edits, a delete and a filtered-out record after every token of both services expired.
 * - `errorOutput`: a record Campaign refuses goes where this n8n routes failed items; the others
 *   are written, and the next change of that record repairs it.
 * - `replay`: a new Replay Data value and unpublish/publish push every record again.
 * - `replayRefused`: Replay Data on a table of 2,000,000 records is refused as a failed execution
 *   the admin sees, and the regular sync goes on.
 * - `retry`: a failed execution retried through the public API converges without duplicates.
 * - `emailEvents`, `optInOut`: the other two templates.
 */
export type TemplateScenario =
	| 'package'
	| 'initialLoad'
	| 'incremental'
	| 'errorOutput'
	| 'replay'
	| 'replayRefused'
	| 'retry'
	| 'emailEvents'
	| 'optInOut';

export interface TemplateSuiteOptions {
	/** The n8n release; defaults to the pinned one. */
	n8nVersion?: string;
	scenarios: TemplateScenario[];
}

const CONTACTS_UPSERT = 'Contacts: Campaign Upsert';
const CARDS_UPSERT = 'Loyalty Cards: Campaign Upsert';
const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
const EVENT_TABLES = {
	send: 'adobe_emailsend',
	open: 'adobe_emailopen',
	click: 'adobe_emailclick',
	bounce: 'adobe_emailbounce',
} as const;

/**
 * Whether n8n's "Continue (using error output)" moves an item shaped `{ error, details }` (what our
 * nodes emit for a failed record) to the error output. n8n-core 2.36.0 added that shape, backported
 * to n8n-core 2.35.5 (n8n 2.35.6); before, only `{ error }` and `{ error, message }` moved, so such
 * items stay on the success output.
 */
export function routesErrorDetailsToErrorOutput(n8nVersion: string): boolean {
	const [major, minor, patch] = n8nVersion.split('.').map(Number);
	if (major !== 2) return major > 2;
	return minor > 35 || (minor === 35 && patch >= 6);
}

export function describeTemplatesInN8n(options: TemplateSuiteOptions): void {
	const version = options.n8nVersion ?? N8N_VERSION;
	const has = (scenario: TemplateScenario) => options.scenarios.includes(scenario);
	let env: E2eEnvironment | undefined;

	beforeAll(async () => {
		env = await startE2eEnvironment({ n8nVersion: version });
	}, N8N_SETUP_TIMEOUT_MS);

	afterAll(async () => {
		await env?.stop();
	}, 60_000);

	function e2e(): E2eEnvironment {
		if (!env) throw new Error('n8n or the sandboxes did not start (see the beforeAll error)');
		return env;
	}

	/** Adds n8n's log tail to a failure, so a CI log shows what n8n said. */
	async function withLogs<T>(run: () => Promise<T>): Promise<T> {
		try {
			return await run();
		} catch (error) {
			(error as Error).message += `\n--- n8n ${version} log tail ---\n${n8nLogTail(env?.n8n, 40)}`;
			throw error;
		}
	}

	/** Campaign must equal the mapped, replaced Dynamics contacts: same keys, same values. */
	async function profilesMatchContacts(): Promise<boolean> {
		const { dataverse, campaign } = e2e();
		const contacts = (await dataverse.dump('contact')).records;
		const profiles = (await campaign.dump('profile')).records;
		if (profiles.length !== contacts.length) return false;
		const byKey = new Map(profiles.map((p) => [p.externalId, p]));
		return contacts.every((c) => {
			const profile = byKey.get(c.contactid);
			if (!profile) return false;
			return wrongFields(expectedProfile(c), profile).length === 0;
		});
	}

	/** Campaign loyalty cards must be exactly the active Dynamics cards (inactive ones filtered out). */
	async function cardsMatchActiveCards(): Promise<boolean> {
		const { dataverse, campaign } = e2e();
		const active = (await dataverse.dump('new_loyaltycard')).records.filter(
			(c) => c.statecode === 0,
		);
		const cards = (await campaign.dump('cusLoyaltyCard')).records;
		const expected = active.map((c) => String(c.new_loyaltycardid)).sort();
		const actual = cards.map((c) => String(c.crmId)).sort();
		return JSON.stringify(expected) === JSON.stringify(actual);
	}

	async function createAndPublish(body: WorkflowDefinition): Promise<Workflow> {
		const { api } = e2e().n8n;
		const created = await api.createWorkflow(body);
		return api.publishWorkflow(created.id);
	}

	function templateBody(name: Parameters<typeof loadDemo>[0]): WorkflowDefinition {
		return workflowForApi(loadDemo(name), e2e().credentials);
	}

	async function executionsOf(workflowId: string): Promise<Execution[]> {
		return e2e().n8n.api.listExecutions({ workflowId, includeData: true, limit: 250 });
	}

	function finishedAfter(executions: Execution[], since: number): Execution[] {
		return executions.filter(
			(e) => e.stoppedAt && new Date(e.startedAt).getTime() >= since && e.status !== 'running',
		);
	}

	function summaryOf(execution: Execution, node: string): Row | undefined {
		return executionSummaries(execution)[node];
	}

	if (has('package')) {
		describe(`the package in n8n ${version}`, () => {
			it('loads as a community package: every node and credential type it declares', async () => {
				const { packageName, nodeTypes, credentialTypes } = await declaredTypes();
				const { rest } = e2e().n8n;
				const nodes = (await rest.nodeTypes()).map((type) => type.name);
				expect(nodes).toContain('n8n-nodes-base.noOp');
				expect(nodes.filter((name) => name.startsWith(`${packageName}.`)).sort()).toEqual(
					[...nodeTypes].sort(),
				);
				const credentials = (await rest.credentialTypes()).map((type) => type.name);
				for (const type of credentialTypes) expect(credentials).toContain(type);
			});
		});
	}

	describe(`Dynamics 365 → Campaign template in n8n ${version}`, () => {
		let workflow: Workflow;
		let contactIds: string[];

		it('converges on the initial load: Campaign equals the mapped, filtered, replaced Dynamics data', async () => {
			await withLogs(async () => {
				const { dataverse } = e2e();
				contactIds = await dataverse.generate('contact', 30, 41);
				const cardIds = await dataverse.generate('new_loyaltycard', 12, 42);
				// The template's filter keeps active cards only: one inactive card must stay out.
				await dataverse.editRecord('new_loyaltycard', cardIds[0], {
					statecode: 1,
					statuscode: 2,
				});
				const cards = (await dataverse.dump('new_loyaltycard')).records;
				expect(cards.some((c) => c.statecode === 0)).toBe(true);
				expect(cards.some((c) => c.statecode !== 0)).toBe(true);

				workflow = await createAndPublish(templateBody('dynamicsToCampaign'));
				expect(workflow.active).toBe(true);

				await waitFor('Campaign profiles to equal the Dynamics contacts', profilesMatchContacts);
				await waitFor('Campaign cards to equal the active Dynamics cards', cardsMatchActiveCards);

				// The executions, read back through the public API, carry the upsert summaries.
				const executions = await waitFor('the initial-load executions', async () => {
					const runs = finishedAfter(await executionsOf(workflow.id), 0);
					const contacts = runs.find((e) => summaryOf(e, CONTACTS_UPSERT));
					const loyalty = runs.find((e) => summaryOf(e, CARDS_UPSERT));
					return contacts && loyalty ? { contacts, loyalty } : undefined;
				});
				expect(executions.contacts.status).toBe('success');
				expect(summaryOf(executions.contacts, CONTACTS_UPSERT)).toMatchObject({
					created: 30,
					failed: 0,
					backlog: 0,
					run: expect.objectContaining({ load: 'initial', table: 'contact' }),
				});
				const active = cards.filter((c) => c.statecode === 0).length;
				expect(summaryOf(executions.loyalty, CARDS_UPSERT)).toMatchObject({
					created: active,
					failed: 0,
				});
			});
		}, 180_000);

		if (has('incremental')) {
			it('carries edits, deletes and filtered-out records over on the next polls, after every token expired', async () => {
				await withLogs(async () => {
					const { dataverse, campaign } = e2e();
					// n8n must fetch new tokens for both services (n8n 1.x hands the 401 back to the node).
					await dataverse.expireTokens();
					await campaign.expireTokens();
					const since = Date.now();
					await dataverse.editRecord('contact', contactIds[0], {
						firstname: 'Ærøskøbing',
						gendercode: 2,
					});
					await dataverse.deleteRecord('contact', contactIds[1]);
					const activeCard = (await dataverse.dump('new_loyaltycard')).records.find(
						(c) => c.statecode === 0,
					)!;
					await dataverse.editRecord('new_loyaltycard', String(activeCard.new_loyaltycardid), {
						statecode: 1,
						statuscode: 2,
					});

					// Polls run every minute at a random second: allow two of them.
					await waitFor('the contact edit and delete to reach Campaign', profilesMatchContacts, {
						timeoutMs: 150_000,
						intervalMs: 2000,
					});
					await waitFor('the deactivated card to be deleted in Campaign', cardsMatchActiveCards, {
						timeoutMs: 150_000,
						intervalMs: 2000,
					});
					const profiles = (await campaign.dump('profile')).records;
					expect(profiles.find((p) => p.externalId === contactIds[0])).toMatchObject({
						firstName: 'Ærøskøbing',
						gender: 'female',
					});
					expect(profiles.some((p) => p.externalId === contactIds[1])).toBe(false);

					const runs = await waitFor('the incremental executions', async () => {
						const done = finishedAfter(await executionsOf(workflow.id), since);
						const contacts = done.find((e) => summaryOf(e, CONTACTS_UPSERT));
						return contacts ? done : undefined;
					});
					const contactSummaries = runs
						.map((e) => summaryOf(e, CONTACTS_UPSERT))
						.filter((s): s is Row => s !== undefined);
					const total = (key: string) =>
						contactSummaries.reduce((n, s) => n + Number(s[key] ?? 0), 0);
					expect(total('updated')).toBe(1);
					expect(total('deleted')).toBe(1);
					expect(total('created')).toBe(0);
					expect(total('failed')).toBe(0);
					expect(contactSummaries[0].run).toMatchObject({ load: 'incremental' });
				});
			}, 330_000);
		}

		if (has('errorOutput')) {
			it('sends a record Campaign refuses to the output this n8n routes failures to, and repairs it on its next change', async () => {
				await withLogs(async () => {
					const { dataverse, campaign } = e2e();
					const { api } = e2e().n8n;
					// The templates keep n8n's default On Error; an admin may route failures to the
					// error output instead, which is what this scenario checks per n8n release.
					const current = await api.getWorkflow(workflow.id);
					await api.unpublishWorkflow(workflow.id);
					await api.updateWorkflow(
						workflow.id,
						withNodeParameters(
							{
								name: current.name,
								nodes: current.nodes,
								connections: current.connections,
								settings: current.settings ?? { executionOrder: 'v1' },
							},
							CONTACTS_UPSERT,
							{},
							{ onError: 'continueErrorOutput' },
						),
					);
					await api.publishWorkflow(workflow.id);
					const since = Date.now();
					// Every profile create fails, retries included, until the faults are cleared.
					await campaign.setFaults({ rate: 1, kinds: ['500'], route: '^campaign:create$' });
					const [refused] = await dataverse.generate('contact', 1, 45);

					const failedRun = await waitFor(
						'the execution with the refused record',
						async () =>
							finishedAfter(await executionsOf(workflow.id), since).find(
								(e) => Number(summaryOf(e, CONTACTS_UPSERT)?.failed ?? 0) > 0,
							),
						{ timeoutMs: 150_000, intervalMs: 2000 },
					);
					await campaign.setFaults({});
					// "Continue (using error output)": the run itself succeeds.
					expect(failedRun.status).toBe('success');
					expect(summaryOf(failedRun, CONTACTS_UPSERT)).toMatchObject({ failed: 1, created: 0 });
					const errorOutput = nodeOutput(failedRun, CONTACTS_UPSERT, 1);
					const mainOutput = nodeOutput(failedRun, CONTACTS_UPSERT, 0);
					const routed = routesErrorDetailsToErrorOutput(version);
					const failures = (routed ? errorOutput : mainOutput).filter((j) => 'error' in j);
					expect(failures).toHaveLength(1);
					expect(failures[0]).toMatchObject({
						error: expect.stringContaining(refused),
						details: expect.objectContaining({ id: refused, outcome: 'failed' }),
					});
					expect((routed ? mainOutput : errorOutput).filter((j) => 'error' in j)).toEqual([]);
					const profiles = (await campaign.dump('profile')).records;
					expect(profiles.some((p) => p.externalId === refused)).toBe(false);

					// The cursor moved past it; the record's next change carries it over.
					await dataverse.editRecord('contact', refused, { firstname: 'Second Try' });
					await waitFor('the refused contact to reach Campaign', profilesMatchContacts, {
						timeoutMs: 150_000,
						intervalMs: 2000,
					});
				});
			}, 330_000);
		}

		if (has('replay')) {
			it('replays every record after a Replay Data change and unpublish/publish', async () => {
				await withLogs(async () => {
					const { api } = e2e().n8n;
					const current = await api.getWorkflow(workflow.id);
					const trigger = current.nodes.find((n) => n.name === CONTACTS_TRIGGER)!;
					const changed = withNodeParameters(
						{
							name: current.name,
							nodes: current.nodes,
							connections: current.connections,
							settings: { executionOrder: 'v1' },
						},
						CONTACTS_TRIGGER,
						{ replayData: `e2e replay ${Date.now()}` },
					);
					expect(trigger.parameters.replayData).not.toBe(
						changed.nodes.find((n) => n.name === CONTACTS_TRIGGER)!.parameters.replayData,
					);
					await api.unpublishWorkflow(workflow.id);
					await api.updateWorkflow(workflow.id, changed);
					const since = Date.now();
					expect((await api.publishWorkflow(workflow.id)).active).toBe(true);

					const replay = await waitFor('the replay execution', async () => {
						const done = finishedAfter(await executionsOf(workflow.id), since);
						return done.find(
							(e) => (summaryOf(e, CONTACTS_UPSERT)?.run as Row | undefined)?.load === 'replay',
						);
					});
					const summary = summaryOf(replay, CONTACTS_UPSERT)!;
					const contacts = (await e2e().dataverse.dump('contact')).records.length;
					// Every contact was pushed again: nothing created or left out, nothing failed. Deletes
					// the replaced delta link still held come first (already applied ones are skipped).
					expect(Number(summary.updated) + Number(summary.unchanged)).toBe(contacts);
					expect(summary).toMatchObject({ created: 0, failed: 0 });
					expect(Number(summary.processed)).toBe(
						contacts + Number(summary.skipped) + Number(summary.deleted),
					);
					expect(await profilesMatchContacts()).toBe(true);
				});
			}, 180_000);
		}

		if (has('replayRefused')) {
			it('refuses Replay Data on a table of 2,000,000 records with a failed execution the admin sees, and the regular sync goes on', async () => {
				await withLogs(async () => {
					const { api } = e2e().n8n;
					const { dataverse } = e2e();
					const current = await api.getWorkflow(workflow.id);
					const changed = withNodeParameters(
						{
							name: current.name,
							nodes: current.nodes,
							connections: current.connections,
							settings: current.settings ?? { executionOrder: 'v1' },
						},
						CONTACTS_TRIGGER,
						{ replayData: `e2e refused replay ${Date.now()}` },
					);
					// Dataverse's RetrieveTotalRecordCount snapshot is what the guard reads.
					await dataverse.setReportedCount('contact', 2_000_000);
					try {
						await api.unpublishWorkflow(workflow.id);
						await api.updateWorkflow(workflow.id, changed);
						const since = Date.now();
						expect((await api.publishWorkflow(workflow.id)).active).toBe(true);
						// n8n saves a trigger's failure without a start time.
						const refused = await waitFor('the refusal as a failed execution', async () =>
							(await executionsOf(workflow.id)).find(
								(e) =>
									e.status === 'error' && !!e.stoppedAt && new Date(e.stoppedAt).getTime() >= since,
							),
						);
						const error = (refused.data as { resultData?: { error?: { message?: string } } })
							?.resultData?.error;
						expect(error?.message).toContain(
							'Replay Data refused: the Microsoft Dynamics 365 table "contact" has 2,000,000 records (the limit is below 2,000,000)',
						);
						// Nothing was replayed, and a change made now still reaches Campaign.
						const [first] = (await dataverse.dump('contact')).records;
						await dataverse.editRecord('contact', String(first.contactid), {
							firstname: 'Após',
						});
						await waitFor('the change to reach Campaign', profilesMatchContacts, {
							timeoutMs: 150_000,
							intervalMs: 2000,
						});
						const runs = finishedAfter(await executionsOf(workflow.id), since);
						expect(
							runs.filter(
								(e) => (summaryOf(e, CONTACTS_UPSERT)?.run as Row | undefined)?.load === 'replay',
							),
						).toEqual([]);
					} finally {
						await dataverse.setReportedCount('contact', null);
					}
				});
			}, 240_000);
		}

		afterAll(async () => {
			if (workflow) await env?.n8n.api.unpublishWorkflow(workflow.id).catch(() => undefined);
		});
	});

	if (has('retry')) {
		describe(`a failed execution retried through the public API of n8n ${version}`, () => {
			it('converges with no loss and no duplicates', async () => {
				await withLogs(async () => {
					const { api } = e2e().n8n;
					const { dataverse, campaign } = e2e();
					// The template as shipped: Campaign Upsert keeps n8n's default On Error, so failed
					// writes fail the execution. Successful executions are saved here to read the retry.
					const shipped = workflowForApi(loadTemplate('dynamicsToCampaign'), e2e().credentials);
					const body = {
						...shipped,
						name: `${shipped.name} (as shipped)`,
						settings: withSuccessfulExecutionsSaved(shipped.settings),
					};
					const newIds = await dataverse.generate('contact', 5, 43);
					// Every create fails, retries included, until the faults are cleared.
					await campaign.setFaults({ rate: 1, kinds: ['500'], route: '^campaign:create$' });

					const failing = await createAndPublish(body);
					const failed = await waitFor('the failed execution', async () =>
						(await executionsOf(failing.id)).find(
							(e) => e.status === 'error' && e.data?.resultData.runData[CONTACTS_UPSERT],
						),
					);
					// No further polls: only the retry may repair the failure.
					await api.unpublishWorkflow(failing.id);
					const profiles = (await campaign.dump('profile')).records;
					for (const id of newIds) expect(profiles.some((p) => p.externalId === id)).toBe(false);
					expect(failed.data?.resultData.error?.message).toMatch(
						/could not be written to Campaign/,
					);

					await campaign.setFaults({});
					const retry = await api.retryExecution(failed.id);
					const retried = await waitFor('the retry to finish', async () => {
						const execution = await api.getExecution(retry.id);
						return execution.stoppedAt ? execution : undefined;
					});
					expect(retried.status).toBe('success');
					expect(retried.retryOf).toBe(failed.id);
					expect(summaryOf(retried, CONTACTS_UPSERT)).toMatchObject({ created: 5, failed: 0 });

					expect(await profilesMatchContacts()).toBe(true);
					const keys = (await campaign.dump('profile')).records.map((p) => p.externalId);
					expect(new Set(keys).size).toBe(keys.length);
				});
			}, 180_000);
		});
	}

	if (has('emailEvents')) {
		describe(`Campaign → Dynamics 365 template in n8n ${version}`, () => {
			it('turns a simulated delivery into activities, exactly once', async () => {
				await withLogs(async () => {
					const { dataverse, campaign } = e2e();
					const profiles = (await campaign.dump('profile')).records;
					const recipients = profiles.slice(0, 12).map((p) => String(p.PKey));
					await campaign.simulateDelivery({
						profiles: recipients,
						openRate: 0.6,
						clickRate: 0.5,
						campaignName: 'E2E Spring',
						deliveryName: 'Newsletter',
						seed: 44,
					});
					const events = (await campaign.dump('cusEmailEvent')).records;
					const expected = (type: string) =>
						events
							.filter((e) => e.type === type)
							.map((e) => String(e.eventId))
							.sort();
					expect(expected('send')).toHaveLength(12);

					const body = withScheduleEvery(templateBody('campaignToDynamics'), 3);
					const workflow = await createAndPublish(body);
					const activities = async (type: keyof typeof EVENT_TABLES) =>
						(await dataverse.dump(EVENT_TABLES[type])).records.map((r) => String(r.adobe_eventid));
					await waitFor('every event to become an activity', async () => {
						for (const type of Object.keys(EVENT_TABLES) as Array<keyof typeof EVENT_TABLES>) {
							if ((await activities(type)).length < expected(type).length) return false;
						}
						return true;
					});
					// Several more scheduled runs: nothing is written twice.
					const after = Date.now();
					await waitFor('three more runs', async () => {
						const runs = finishedAfter(await executionsOf(workflow.id), after);
						return runs.length >= 3 ? runs : undefined;
					});
					await e2e().n8n.api.unpublishWorkflow(workflow.id);
					for (const type of Object.keys(EVENT_TABLES) as Array<keyof typeof EVENT_TABLES>) {
						expect((await activities(type)).sort()).toEqual(expected(type));
					}
					const contactIds = new Set(
						(await dataverse.dump('contact')).records.map((c) => String(c.contactid)),
					);
					const send = (await dataverse.dump(EVENT_TABLES.send)).records[0];
					expect(send).toMatchObject({ adobe_campaignname: 'E2E Spring' });

					const runs = await executionsOf(workflow.id);
					const exported = runs
						.map((e) => summaryOf(e, 'Email Events Export'))
						.filter((s): s is Row => s !== undefined)
						.reduce((n, s) => n + Number((s.exported as Row).total), 0);
					expect(exported).toBe(events.length);
					expect(runs.every((e) => e.status === 'success')).toBe(true);
					expect(contactIds.size).toBeGreaterThan(0);
				});
			}, 180_000);
		});
	}

	if (has('optInOut')) {
		describe(`Opt-In/Out template in n8n ${version}`, () => {
			it('converges on bidirectional changes and then stops moving', async () => {
				await withLogs(async () => {
					const { dataverse, campaign } = e2e();
					const workflow = await createAndPublish(withScheduleEvery(templateBody('optInOut'), 3));
					const writes = (e: Execution) => {
						const s = summaryOf(e, 'Opt-In/Out Sync');
						return s ? Number(s.writtenToCampaign) + Number(s.writtenToDynamics) : undefined;
					};
					/** Two finished runs since `since`, the last two writing nothing. */
					const settled = async (since: number) => {
						const runs = finishedAfter(await executionsOf(workflow.id), since).sort(
							(a, b) => Number(a.id) - Number(b.id),
						);
						const last = runs.slice(-2);
						return last.length === 2 && last.every((e) => writes(e) === 0) ? runs : undefined;
					};
					await waitFor('the first opt-in/out cycles to settle', () => settled(0));

					const contacts = (await dataverse.dump('contact')).records;
					const profiles = (await campaign.dump('profile')).records;
					const a = contacts.find((c) => !c.donotemail)!;
					const b = contacts.find((c) => !c.donotphone && c !== a)!;
					const aProfile = profiles.find((p) => p.externalId === a.contactid)!;
					const bProfile = profiles.find((p) => p.externalId === b.contactid)!;
					expect(Boolean(aProfile.blackListEmail)).toBe(false);
					expect(Boolean(bProfile.blackListPhone)).toBe(false);

					const since = Date.now();
					await campaign.edit('profile', String(aProfile.PKey), { blackListEmail: true });
					await dataverse.editRecord('contact', String(b.contactid), { donotphone: true });

					await waitFor('both changes to cross over', async () => {
						const contact = (await dataverse.dump('contact')).records.find(
							(c) => c.contactid === a.contactid,
						);
						const profile = await campaign.read('profile', String(bProfile.PKey));
						return contact?.donotemail === true && profile.blackListPhone === true;
					});
					const runs = await waitFor('the cycles after the change to settle', () => settled(since));
					const moved = runs.reduce((n, e) => n + (writes(e) ?? 0), 0);
					expect(moved).toBe(2);
					const last = runs.at(-1)!;
					expect(nodeOutput(last, 'Opt-In/Out Sync').at(-1)?._summary).toMatchObject({
						direction: 'bidirectional',
						writtenToCampaign: 0,
						writtenToDynamics: 0,
						errors: 0,
					});
					await e2e().n8n.api.unpublishWorkflow(workflow.id);
					// Still in place after the workflow stopped: nothing bounced back.
					const contact = (await dataverse.dump('contact')).records.find(
						(c) => c.contactid === a.contactid,
					);
					expect(contact?.donotemail).toBe(true);
					expect((await campaign.read('profile', String(bProfile.PKey))).blackListPhone).toBe(true);
				});
			}, 180_000);
		});
	}
}
