/**
 * Seeded demo data: realistic contacts (some inactive, some with empty fields, names with quotes
 * and non-ASCII letters), their accounts, loyalty cards and regions. Same seed, same data.
 */
import { seededRandom } from '../common/server';
import { isoNow, Store, type Row, type TableState } from './store';

const FIRST_NAMES = [
	'Ana',
	'Zoë',
	'José',
	'Renée',
	'Søren',
	'Łukasz',
	'Mei',
	'Olivia',
	'Liam',
	'Noah',
	'Emma',
	'Sofía',
	'Jürgen',
	'François',
	'Aoife',
	'Chloé',
	'Mateo',
	'Ingrid',
	'Dmitri',
	'Amélie',
	'Kai',
	"D'Arcy",
	'Björn',
	'Ísold',
	'Nuño',
];
const LAST_NAMES = [
	"O'Brien",
	'Müller',
	'García',
	'Nguyen',
	'Smith',
	'Johansson',
	'Kowalski',
	'Dubois',
	'Rossi',
	'Tanaka',
	'Núñez',
	"D'Angelo",
	'Ødegaard',
	'Schäfer',
	'Brown',
	'Martin',
	'Papadopoulos',
	'Van der Berg',
	'Ćirić',
	'Lefèvre',
];
const CITIES = [
	'Lisbon',
	'München',
	'Kraków',
	'Seattle',
	'São Paulo',
	'Zürich',
	'Dublin',
	'Tokyo',
	'Québec',
];
const COMPANIES = [
	'Contoso',
	'Fabrikam',
	'Adventure Works',
	'Northwind Traders',
	'Tailspin Toys',
	'Wingtip',
	'Litware',
	'Alpine Ski House',
	'Coho Winery',
	'Fourth Coffee',
	'Müller & Söhne',
	"Trey's Research",
];
const REGIONS = [
	['North', 'N', 1200000],
	['South', 'S', 850000],
	['East', 'E', 990000],
	['West', 'W', 1430000],
] as const;

function ascii(text: string): string {
	return text
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[øØ]/g, 'o')
		.replace(/[łŁ]/g, 'l')
		.replace(/[^A-Za-z0-9]/g, '')
		.toLowerCase();
}

/** A GUID drawn from the seeded generator, so demo ids are stable for a seed. */
function guid(random: () => number): string {
	const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface DemoOptions {
	seed: number;
	contacts: number;
	/** The user that owns generated records. */
	ownerId: string;
}

function pick<T>(random: () => number, list: readonly T[]): T {
	return list[Math.floor(random() * list.length)];
}

/** Generates `count` contacts into the store; returns their ids. */
export function generateContacts(
	store: Store,
	count: number,
	seed: number,
	ownerId: string,
): string[] {
	const random = seededRandom(seed);
	const contacts = store.table('contact')!;
	const accounts = store.table('account');
	const accountIds = accounts ? [...accounts.rows.keys()] : [];
	const ids: string[] = [];
	const base = Date.UTC(2024, 0, 1);
	for (let i = 0; i < count; i++) {
		const first = pick(random, FIRST_NAMES);
		const last = pick(random, LAST_NAMES);
		const inactive = random() < 0.1;
		const created = base + Math.floor(random() * 365 * 86400000);
		const row: Row = {
			contactid: guid(random),
			firstname: random() < 0.05 ? null : first,
			lastname: last,
			emailaddress1: random() < 0.1 ? null : `${ascii(first)}.${ascii(last)}${i}@example.com`,
			telephone1: random() < 0.3 ? null : `+1-555-${String(1000 + Math.floor(random() * 9000))}`,
			mobilephone:
				random() < 0.5 ? null : `+44 7700 ${String(100000 + Math.floor(random() * 900000))}`,
			address1_city: random() < 0.2 ? null : pick(random, CITIES),
			birthdate:
				random() < 0.3
					? null
					: `${1950 + Math.floor(random() * 55)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
			gendercode: random() < 0.2 ? null : 1 + Math.floor(random() * 2),
			familystatuscode: random() < 0.4 ? null : 1 + Math.floor(random() * 4),
			preferredcontactmethodcode: 1 + Math.floor(random() * 5),
			creditlimit: random() < 0.5 ? null : Math.round(random() * 5000000) / 100,
			parentcustomerid:
				accountIds.length && random() < 0.7
					? { id: pick(random, accountIds), table: 'account' }
					: null,
			donotbulkemail: random() < 0.2,
			donotemail: random() < 0.1,
			donotphone: random() < 0.15,
			donotfax: random() < 0.5,
			donotpostalmail: random() < 0.1,
			ownerid: { id: ownerId, table: 'systemuser' },
			statecode: inactive ? 1 : 0,
			statuscode: inactive ? 2 : 1,
			createdon: isoNow(created),
			modifiedon: isoNow(created + Math.floor(random() * 30 * 86400000)),
		};
		const inserted = store.insert(contacts, row);
		ids.push(inserted.contactid as string);
	}
	return ids;
}

/** Fills an empty store with the demo data set. */
export function generateDemoData(store: Store, options: DemoOptions): void {
	const random = seededRandom(options.seed + 7);
	const users = store.table('systemuser');
	if (users && !users.rows.has(options.ownerId)) {
		store.insert(users, {
			systemuserid: options.ownerId,
			fullname: 'Sandbox Integration',
			internalemailaddress: 'integration@example.com',
		});
		store.insert(users, {
			systemuserid: guid(random),
			fullname: 'Alex Wilber',
			internalemailaddress: 'alexw@example.com',
		});
	}
	const accounts = store.table('account');
	if (accounts) {
		const count = Math.max(3, Math.ceil(options.contacts / 5));
		for (let i = 0; i < count; i++) {
			const name = `${pick(random, COMPANIES)}${i >= COMPANIES.length ? ` ${i}` : ''}`;
			store.insert(accounts, {
				accountid: guid(random),
				name,
				accountnumber: `ACC-${String(i + 1).padStart(5, '0')}`,
				telephone1: `+1-425-555-${String(1000 + i).slice(-4)}`,
				emailaddress1: `info@${ascii(name)}.example.com`,
				revenue: Math.round(random() * 1e9) / 100,
				numberofemployees: Math.floor(random() * 5000),
				ownerid: { id: options.ownerId, table: 'systemuser' },
			});
		}
	}
	const contactIds = generateContacts(store, options.contacts, options.seed, options.ownerId);
	const cards = store.table('new_loyaltycard');
	if (cards) addLoyaltyCards(store, cards, contactIds, random, options.ownerId);
	const regions = store.table('new_region');
	if (regions) {
		for (const [name, code, population] of REGIONS) {
			store.insert(regions, {
				new_regionid: guid(random),
				new_name: name,
				new_code: code,
				new_population: population,
			});
		}
	}
}

function addLoyaltyCards(
	store: Store,
	cards: TableState,
	contactIds: string[],
	random: () => number,
	ownerId: string,
): void {
	const tiers = [100000000, 100000001, 100000002, 100000003];
	contactIds.forEach((contactId, i) => {
		if (random() < 0.5) return;
		const contact = store.table('contact')!.rows.get(contactId)!;
		store.insert(cards, {
			new_loyaltycardid: guid(random),
			new_name: `Card of ${String(contact.fullname ?? contact.lastname)}`,
			new_cardnumber: `LC${String(100000 + i)}`,
			new_points: Math.floor(random() * 20000),
			new_tier: pick(random, tiers),
			new_contactid: { id: contactId, table: 'contact' },
			new_issuedon: `202${Math.floor(random() * 5)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
			ownerid: { id: ownerId, table: 'systemuser' },
			statecode: random() < 0.1 ? 1 : 0,
		});
	});
}
