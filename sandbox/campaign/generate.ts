/**
 * Seeded, realistic profiles for the Campaign sandbox (some with quotes and non-ASCII names).
 * Email deliveries and the events they produce are in deliveries.ts.
 */
import { seededRandom } from '../common/server';
import type { CampaignStore, StoredRecord, Value } from './store';

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
