/**
 * Seeded, realistic data for the Campaign sandbox: profiles (some with quotes and non-ASCII names)
 * and email deliveries that produce send/open/click/bounce events with plausible proportions.
 */
import { seededRandom } from '../common/server';
import { formatTimestamp, type CampaignStore, type StoredRecord, type Value } from './store';

const FIRST_NAMES = [
	'Ana',
	'John',
	'Zoë',
	'José',
	'Łukasz',
	'Søren',
	'Amélie',
	'Chloé',
	'Mei',
	'Olivia',
	'Liam',
	'Noah',
	'Émile',
	'Björn',
	'Ngozi',
	'Aarav',
	'Yuki',
	'Fatima',
	'Renée',
	'Małgorzata',
];
const LAST_NAMES = [
	"O'Brien",
	'Müller',
	'García',
	'Nguyễn',
	'Smith',
	"D'Angelo",
	'Kowalski',
	'Johansson',
	'Dubois',
	'Rossi',
	'Okafor',
	'Tanaka',
	'Larsen',
	'Brown',
	'van der Berg',
	'Øster',
	'Smith "Jr."',
	'Lefèvre',
	'Wang',
	'Silva',
];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'example.co.uk'];

function ascii(text: string): string {
	return text
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[łŁ]/g, 'l')
		.replace(/[øØ]/g, 'o')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '');
}

/** A GUID-shaped id from the random source (Dynamics contact ids look like this). */
export function seededGuid(random: () => number): string {
	const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

export interface GenerateProfilesOptions {
	count: number;
	seed?: number;
	/** Use these externalIds (e.g. Dynamics contact ids) in order instead of generated ones. */
	externalIds?: string[];
}

export function generateProfiles(
	store: CampaignStore,
	options: GenerateProfilesOptions,
): StoredRecord[] {
	const random = seededRandom(options.seed ?? 1);
	const table = store.table('profile')!;
	const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
	const created: StoredRecord[] = [];
	const at = store.tick();
	for (let i = 0; i < options.count; i++) {
		const firstName = pick(FIRST_NAMES);
		const lastName = pick(LAST_NAMES);
		const externalId = options.externalIds?.[i] ?? seededGuid(random);
		const year = 1950 + Math.floor(random() * 55);
		const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
		const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
		const values: Record<string, Value> = {
			email: `${ascii(firstName)}.${ascii(lastName)}.${externalId.slice(0, 6)}@${pick(DOMAINS)}`,
			firstName,
			lastName,
			birthDate: `${year}-${month}-${day}`,
			gender: pick(['unknown', 'male', 'female']),
			externalId,
			blackList: random() < 0.02,
			blackListEmail: random() < 0.05,
			blackListFax: false,
			blackListMobile: random() < 0.03,
			blackListPhone: random() < 0.03,
			blackListPostalMail: random() < 0.02,
			blackListPushnotification: false,
			ccpaOptOut: random() < 0.01,
		};
		// One timestamp for the whole batch; insertion order breaks ties.
		created.push(store.create(table, values, { at }));
	}
	return created;
}

export interface SimulateDeliveryOptions {
	/** PKeys of the recipients; default: the first `count` profiles. */
	profiles?: string[];
	count?: number;
	campaignName?: string;
	deliveryName?: string;
	seed?: number;
	/** When the sends happened (default: one hour ago). */
	sentAt?: string;
	/** Proportions (defaults: bounce 0.03, open 0.25 of delivered, click 0.3 of opens). */
	bounceRate?: number;
	openRate?: number;
	clickRate?: number;
}

export interface DeliverySummary {
	deliveryId: string;
	campaignId: string;
	recipients: number;
	events: { send: number; open: number; click: number; bounce: number };
}

export function simulateDelivery(
	store: CampaignStore,
	options: SimulateDeliveryOptions,
	sequence: number,
): DeliverySummary {
	const random = seededRandom(options.seed ?? sequence);
	const profiles = store.table('profile')!;
	const events = store.table('cusEmailEvent')!;
	const recipients: StoredRecord[] = options.profiles
		? options.profiles.map((pkey) => {
				const record = profiles.records.get(pkey);
				if (!record) throw new Error(`No profile has the PKey '${pkey}'.`);
				return record;
			})
		: [...profiles.records.values()].slice(0, options.count ?? 10);
	const deliveryId = `DM${String(sequence).padStart(6, '0')}`;
	const campaignId = `OP${String(sequence).padStart(6, '0')}`;
	const campaignName = options.campaignName ?? `Spring newsletter ${sequence}`;
	const deliveryName = options.deliveryName ?? `Newsletter email ${sequence}`;
	const sentAt = options.sentAt ? Date.parse(options.sentAt) : Date.now() - 3600_000;
	const summary: DeliverySummary = {
		deliveryId,
		campaignId,
		recipients: recipients.length,
		events: { send: 0, open: 0, click: 0, bounce: 0 },
	};
	const at = store.tick();
	let n = 0;
	const add = (
		type: 'send' | 'open' | 'click' | 'bounce',
		profile: StoredRecord,
		date: number,
		clickedUrl = '',
	) => {
		n++;
		summary.events[type]++;
		store.create(
			events,
			{
				eventId: `${deliveryId}-${String(n).padStart(7, '0')}`,
				type,
				profileExternalId: (profile.values.externalId as string) ?? '',
				profile: profile.pkey,
				campaignId,
				campaignName,
				deliveryId,
				deliveryName,
				date: formatTimestamp(date),
				mirrorPageUrl: `https://mirror.campaign.example/${deliveryId}/${profile.pkey.slice(1, 12)}`,
				clickedUrl,
			},
			{ at },
		);
	};
	for (const profile of recipients) {
		const sendTime = sentAt + Math.floor(random() * 120_000);
		add('send', profile, sendTime);
		if (random() < (options.bounceRate ?? 0.03)) {
			add('bounce', profile, sendTime + 5_000 + Math.floor(random() * 60_000));
			continue;
		}
		if (random() < (options.openRate ?? 0.25)) {
			const openTime = sendTime + 60_000 + Math.floor(random() * 3_000_000);
			add('open', profile, openTime);
			if (random() < (options.clickRate ?? 0.3)) {
				const url = `https://www.example.com/offers/${Math.floor(random() * 5) + 1}?utm_source=campaign`;
				add('click', profile, openTime + 10_000 + Math.floor(random() * 300_000), url);
			}
		}
	}
	return summary;
}
