/**
 * Email deliveries in the Campaign sandbox, and the Campaign workflow that turns their logs into
 * email event records, as docs/CAMPAIGN-SETUP.md has an administrator build it:
 *
 * - A delivery writes Campaign's logs: one delivery log per recipient (status sent, or failed with
 *   a failure type Hard, Soft or Ignored; CS help/sending/using/understanding-delivery-failures.md)
 *   and a tracking log per open and per click.
 * - The workflow: Scheduler → Incremental query on the delivery logs and on the tracking logs,
 *   "Use a date field" (the logs' `lastModified` at or after the last execution date,
 *   CS help/automating/using/incremental-query.md, exporting-logs.md) → Update data, "Insert or
 *   update" into `cusEmailEvent` with `eventId` as the key (CS help/automating/using/update-data.md:
 *   `lastModified` is set by the activity, and only on records where a value differs). Sends and
 *   hard bounces come from delivery logs, opens and clicks from tracking logs; soft and ignored
 *   failures make no event (Adobe's integration exports hard bounces,
 *   CS help/integrating/using/d365-acs-using-the-integration.md).
 *
 * One timestamp per batch of the Update data activity is an assumption (sandbox/README.md): it makes
 * many events share one `lastModified`, which a reader has to handle.
 */
import { seededRandom } from '../common/server';
import { DELIVERY_LOGS, EMAIL_EVENT_RESOURCE, TRACKING_LOGS } from './email-events';
import { formatTimestamp, type CampaignStore, type StoredRecord, type Value } from './store';

export const EMAIL_EVENTS_WORKFLOW = 'emailEvents';
/** The Update data activity's batch size when none is given. */
export const DEFAULT_UPDATE_BATCH = 10_000;

export interface SimulateDeliveryOptions {
	/** PKeys of the recipients; default: the first `count` profiles. */
	profiles?: string[];
	count?: number;
	campaignName?: string;
	deliveryName?: string;
	seed?: number;
	/** When the sends happened (default: one hour ago). */
	sentAt?: string;
	/**
	 * Proportions (defaults: hard bounce 0.03, soft bounce 0, open 0.25 of delivered, click 0.3 of
	 * opens).
	 */
	bounceRate?: number;
	softBounceRate?: number;
	openRate?: number;
	clickRate?: number;
	/** Run the email events workflow afterwards (default true), as its scheduler would. */
	runWorkflow?: boolean;
}

export interface WorkflowRunSummary {
	/** Log lines the incremental queries returned. */
	logsRead: number;
	inserted: number;
	updated: number;
	unchanged: number;
	/** The execution date the next run reads from. */
	executedAt: string;
}

export interface DeliverySummary {
	deliveryId: string;
	campaignId: string;
	recipients: number;
	/** The events this delivery gives the email event resource (hard bounces only). */
	events: { send: number; open: number; click: number; bounce: number };
	softBounces: number;
	/** The workflow run that followed, unless `runWorkflow` was false. */
	workflow?: WorkflowRunSummary;
}

function nextLogId(table: { records: Map<string, StoredRecord> }): number {
	let max = 0;
	for (const r of table.records.values()) max = Math.max(max, Number(r.values.logId) || 0);
	return max + 1;
}

export function simulateDelivery(
	store: CampaignStore,
	options: SimulateDeliveryOptions,
	sequence: number,
): DeliverySummary {
	const random = seededRandom(options.seed ?? sequence);
	const profiles = store.table('profile')!;
	const deliveryLogs = store.table(DELIVERY_LOGS)!;
	const trackingLogs = store.table(TRACKING_LOGS)!;
	const recipients: StoredRecord[] = options.profiles
		? options.profiles.map((pkey) => {
				const record = profiles.records.get(pkey);
				if (!record) throw new Error(`No profile has the PKey '${pkey}'.`);
				return record;
			})
		: [...profiles.records.values()].slice(0, options.count ?? 10);
	const deliveryId = `DM${String(sequence).padStart(6, '0')}`;
	const campaignId = `OP${String(sequence).padStart(6, '0')}`;
	const campaignLabel = options.campaignName ?? `Spring newsletter ${sequence}`;
	const deliveryLabel = options.deliveryName ?? `Newsletter email ${sequence}`;
	const sentAt = options.sentAt ? Date.parse(options.sentAt) : Date.now() - 3600_000;
	const summary: DeliverySummary = {
		deliveryId,
		campaignId,
		recipients: recipients.length,
		events: { send: 0, open: 0, click: 0, bounce: 0 },
		softBounces: 0,
	};
	const at = store.tick();
	let broadLogId = nextLogId(deliveryLogs);
	let trackingLogId = nextLogId(trackingLogs);
	const hardRate = options.bounceRate ?? 0.03;
	const softRate = options.softBounceRate ?? 0;
	for (const profile of recipients) {
		const sendTime = sentAt + Math.floor(random() * 120_000);
		const draw = random();
		const failure = draw < hardRate ? 'hard' : draw < hardRate + softRate ? 'soft' : '';
		const logId = broadLogId++;
		const log: Record<string, Value> = {
			logId,
			profile: profile.pkey,
			campaignId,
			campaignLabel,
			deliveryId,
			deliveryLabel,
			contactDate: formatTimestamp(sendTime),
			eventDate: formatTimestamp(
				failure ? sendTime + 5_000 + Math.floor(random() * 60_000) : sendTime,
			),
			status: failure ? 'failed' : 'sent',
			failureType: failure,
			mirrorPageUrl: `https://mirror.campaign.example/${deliveryId}/${profile.pkey.slice(1, 12)}`,
		};
		store.create(deliveryLogs, log, { at });
		summary.events.send++;
		if (failure === 'hard') summary.events.bounce++;
		if (failure === 'soft') summary.softBounces++;
		if (failure) continue;
		if (random() < (options.openRate ?? 0.25)) {
			const openTime = sendTime + 60_000 + Math.floor(random() * 3_000_000);
			const track = (urlLabel: string, url: string, time: number) =>
				store.create(
					trackingLogs,
					{
						logId: trackingLogId++,
						broadLogId: logId,
						profile: profile.pkey,
						urlLabel,
						url,
						logDate: formatTimestamp(time),
					},
					{ at },
				);
			track('Open', '', openTime);
			summary.events.open++;
			if (random() < (options.clickRate ?? 0.3)) {
				const url = `https://www.example.com/offers/${Math.floor(random() * 5) + 1}?utm_source=campaign`;
				track('Offer', url, openTime + 10_000 + Math.floor(random() * 300_000));
				summary.events.click++;
			}
		}
	}
	if (options.runWorkflow !== false) summary.workflow = runEmailEventsWorkflow(store);
	return summary;
}

/** Whether a log line is at or after the incremental query's bound. */
function since(record: StoredRecord, bound: string | undefined): boolean {
	return bound === undefined || String(record.values.lastModified) >= bound;
}

/**
 * One execution of the email events workflow: the incremental queries, then Update data in
 * batches of `batchSize`, each batch stamping the records it changes with one `lastModified`.
 */
export function runEmailEventsWorkflow(
	store: CampaignStore,
	options: { batchSize?: number } = {},
): WorkflowRunSummary {
	const bound = store.workflows.get(EMAIL_EVENTS_WORKFLOW);
	const executedAt = formatTimestamp(store.tick());
	const profiles = store.table('profile')!;
	const deliveryLogs = store.table(DELIVERY_LOGS)!;
	const trackingLogs = store.table(TRACKING_LOGS)!;
	const events = store.table(EMAIL_EVENT_RESOURCE)!;
	const bySeq = (a: StoredRecord, b: StoredRecord) => a.seq - b.seq;
	const rows: Array<Record<string, Value>> = [];
	const common = (log: StoredRecord) => {
		const profile = profiles.records.get(String(log.values.profile));
		return {
			profile: profile ? profile.pkey : null,
			profileExternalId: profile ? ((profile.values.externalId as string) ?? '') : '',
			campaignId: log.values.campaignId,
			campaignName: log.values.campaignLabel,
			deliveryId: log.values.deliveryId,
			deliveryName: log.values.deliveryLabel,
			mirrorPageUrl: log.values.mirrorPageUrl,
		};
	};
	let logsRead = 0;
	for (const log of [...deliveryLogs.records.values()].sort(bySeq)) {
		if (!since(log, bound)) continue;
		logsRead++;
		const id = String(log.values.logId);
		rows.push({
			eventId: `send ${id}`,
			type: 'send',
			...common(log),
			date: log.values.contactDate,
			clickedUrl: '',
		});
		if (log.values.status === 'failed' && log.values.failureType === 'hard') {
			rows.push({
				eventId: `bounce ${id}`,
				type: 'bounce',
				...common(log),
				date: log.values.eventDate,
				clickedUrl: '',
			});
		}
	}
	const broadLogs = new Map(
		[...deliveryLogs.records.values()].map((r) => [Number(r.values.logId), r]),
	);
	for (const log of [...trackingLogs.records.values()].sort(bySeq)) {
		if (!since(log, bound)) continue;
		logsRead++;
		const delivery = broadLogs.get(Number(log.values.broadLogId));
		if (!delivery) continue;
		const type = log.values.urlLabel === 'Open' ? 'open' : 'click';
		rows.push({
			eventId: `${type} ${String(log.values.logId)}`,
			type,
			...common(delivery),
			profile: log.values.profile,
			date: log.values.logDate,
			clickedUrl: type === 'click' ? log.values.url : '',
		});
	}
	const summary: WorkflowRunSummary = {
		logsRead,
		inserted: 0,
		updated: 0,
		unchanged: 0,
		executedAt,
	};
	const batchSize = options.batchSize ?? DEFAULT_UPDATE_BATCH;
	for (let i = 0; i < rows.length; i += batchSize) {
		const at = store.tick();
		for (const row of rows.slice(i, i + batchSize)) {
			const [existing] = events.lookup('eventId', row.eventId);
			if (!existing) {
				store.create(events, row, { at });
				summary.inserted++;
				continue;
			}
			const changed = Object.entries(row).some(
				([k, v]) => (existing.values[k] ?? '') !== (v ?? ''),
			);
			if (!changed) {
				summary.unchanged++;
				continue;
			}
			store.update(events, existing, row, { at });
			summary.updated++;
		}
	}
	store.workflows.set(EMAIL_EVENTS_WORKFLOW, executedAt);
	return summary;
}
