/**
 * JSONata's date/time pictures (`$toMillis`, `$fromMillis`, `$now` with a picture; XPath F&O
 * format-dateTime) split into the part that depends only on the picture, done once when an
 * expression compiles, and the part done per value. A port of jsonata 2.2's `datetime.js`
 * (© IBM Corp. 2018, MIT licence), kept line for line where it decides a result, including its
 * quirks (two-digit years go through `Date.UTC`, a name that is not found counts as a missing
 * component), so that the compiled closures give exactly the interpreter's results. Where JSONata
 * throws, these functions throw the same `{ code }`; the compiler turns that into a deferral to the
 * interpreter, which then reports the error itself. `test/.../compile-jsonata.test.ts` checks it all
 * against the interpreter: JSONata's own suite and random instants, texts and pictures.
 */

/** A JSONata error as JSONata throws it. */
interface JsonataError {
  code: string;
  value?: unknown;
}
const fail = (code: string, value?: unknown): never => {
  throw { code, value } satisfies JsonataError;
};

const few = [
  'Zero',
  'One',
  'Two',
  'Three',
  'Four',
  'Five',
  'Six',
  'Seven',
  'Eight',
  'Nine',
  'Ten',
  'Eleven',
  'Twelve',
  'Thirteen',
  'Fourteen',
  'Fifteen',
  'Sixteen',
  'Seventeen',
  'Eighteen',
  'Nineteen',
];
const ordinals = [
  'Zeroth',
  'First',
  'Second',
  'Third',
  'Fourth',
  'Fifth',
  'Sixth',
  'Seventh',
  'Eighth',
  'Ninth',
  'Tenth',
  'Eleventh',
  'Twelfth',
  'Thirteenth',
  'Fourteenth',
  'Fifteenth',
  'Sixteenth',
  'Seventeenth',
  'Eighteenth',
  'Nineteenth',
];
const decades = ['Twenty', 'Thirty', 'Forty', 'Fifty', 'Sixty', 'Seventy', 'Eighty', 'Ninety', 'Hundred'];
const magnitudes = ['Thousand', 'Million', 'Billion', 'Trillion'];

function numberToWords(value: number, ordinal: boolean): string {
  const lookup = (num: number, prev: boolean, ord: boolean): string => {
    let words: string;
    if (num <= 19) {
      words = (prev ? ' and ' : '') + (ord ? ordinals[num] : few[num]);
    } else if (num < 100) {
      const tens = Math.floor(num / 10);
      const remainder = num % 10;
      words = (prev ? ' and ' : '') + decades[tens - 2];
      if (remainder > 0) words += '-' + lookup(remainder, false, ord);
      else if (ord) words = words.substring(0, words.length - 1) + 'ieth';
    } else if (num < 1000) {
      const hundreds = Math.floor(num / 100);
      const remainder = num % 100;
      words = (prev ? ', ' : '') + few[hundreds] + ' Hundred';
      if (remainder > 0) words += lookup(remainder, true, ord);
      else if (ord) words += 'th';
    } else {
      let mag = Math.floor(Math.log10(num) / 3);
      if (mag > magnitudes.length) mag = magnitudes.length;
      const factor = Math.pow(10, mag * 3);
      const mant = Math.floor(num / factor);
      const remainder = num - mant * factor;
      words = (prev ? ', ' : '') + lookup(mant, false, false) + ' ' + magnitudes[mag - 1];
      if (remainder > 0) words += lookup(remainder, true, ord);
      else if (ord) words += 'th';
    }
    return words;
  };
  return lookup(value, false, ordinal);
}

const wordValues: Record<string, number> = Object.create(null);
few.forEach((word, index) => (wordValues[word.toLowerCase()] = index));
ordinals.forEach((word, index) => (wordValues[word.toLowerCase()] = index));
decades.forEach((word, index) => {
  const lword = word.toLowerCase();
  wordValues[lword] = (index + 2) * 10;
  wordValues[lword.substring(0, word.length - 1) + 'ieth'] = wordValues[lword]!;
});
wordValues.hundredth = 100;
magnitudes.forEach((word, index) => {
  const lword = word.toLowerCase();
  const val = Math.pow(10, (index + 1) * 3);
  wordValues[lword] = val;
  wordValues[lword + 'th'] = val;
});

function wordsToNumber(text: string): number {
  const parts = text.split(/,\s|\sand\s|[\s\\-]/);
  const values = parts.map((part) => wordValues[part]);
  const segs: number[] = [0];
  values.forEach((value) => {
    const v = value as number;
    if (v < 100) {
      let top = segs.pop()!;
      if (top >= 1000) {
        segs.push(top);
        top = 0;
      }
      segs.push(top + v);
    } else {
      segs.push(segs.pop()! * v);
    }
  });
  return segs.reduce((a, b) => a + b, 0);
}

const romanNumerals: [number, string][] = [
  [1000, 'm'],
  [900, 'cm'],
  [500, 'd'],
  [400, 'cd'],
  [100, 'c'],
  [90, 'xc'],
  [50, 'l'],
  [40, 'xl'],
  [10, 'x'],
  [9, 'ix'],
  [5, 'v'],
  [4, 'iv'],
  [1, 'i'],
];
const romanValues: Record<string, number> = { M: 1000, D: 500, C: 100, L: 50, X: 10, V: 5, I: 1 };

function decimalToRoman(value: number): string {
  for (const [n, numeral] of romanNumerals) {
    if (value >= n) return numeral + decimalToRoman(value - n);
  }
  return '';
}

function romanToDecimal(roman: string): number {
  let decimal = 0;
  let max = 1;
  for (let i = roman.length - 1; i >= 0; i--) {
    const value = romanValues[roman[i]!]!;
    if (value < max) {
      decimal -= value;
    } else {
      max = value;
      decimal += value;
    }
  }
  return decimal;
}

function decimalToLetters(value: number, aChar: string): string {
  const letters: string[] = [];
  const aCode = aChar.charCodeAt(0);
  let v = value;
  while (v > 0) {
    letters.unshift(String.fromCharCode(((v - 1) % 26) + aCode));
    v = Math.floor((v - 1) / 26);
  }
  return letters.join('');
}

function lettersToDecimal(letters: string, aChar: string): number {
  const aCode = aChar.charCodeAt(0);
  let decimal = 0;
  for (let i = 0; i < letters.length; i++) {
    decimal += (letters.charCodeAt(letters.length - i - 1) - aCode + 1) * Math.pow(26, i);
  }
  return decimal;
}

type Primary = 'decimal' | 'letters' | 'roman' | 'words' | 'sequence';
type Case = 'upper' | 'lower' | 'title';

interface Separator {
  readonly position: number;
  readonly character: string;
}

/** An analysed integer picture (XPath F&O format-integer). */
interface IntegerFormat {
  primary: Primary;
  case: Case;
  ordinal: boolean;
  zeroCode?: number;
  mandatoryDigits?: number;
  optionalDigits?: number;
  regular?: boolean;
  /** One separator when `regular`, else the list (never reversed in place: analysed pictures are reused). */
  groupingSeparators?: Separator | Separator[];
  token?: string;
  parseWidth?: number;
  /** ASCII digits, no grouping, not ordinal: formatting is a zero-padded number. */
  plain?: boolean;
}

const decimalGroups = [
  0x30, 0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66, 0x0be6, 0x0c66, 0x0ce6, 0x0d66, 0x0de6, 0x0e50, 0x0ed0, 0x0f20,
  0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0,
  0xaa50, 0xabf0, 0xff10,
];

function analyseIntegerPicture(picture: string): IntegerFormat {
  const format: IntegerFormat = { primary: 'decimal', case: 'lower', ordinal: false };
  let primaryFormat: string;
  const semicolon = picture.lastIndexOf(';');
  if (semicolon === -1) {
    primaryFormat = picture;
  } else {
    primaryFormat = picture.substring(0, semicolon);
    if (picture.substring(semicolon + 1)[0] === 'o') format.ordinal = true;
  }
  switch (primaryFormat) {
    case 'A':
      format.case = 'upper';
      format.primary = 'letters';
      break;
    case 'a':
      format.primary = 'letters';
      break;
    case 'I':
      format.case = 'upper';
      format.primary = 'roman';
      break;
    case 'i':
      format.primary = 'roman';
      break;
    case 'W':
      format.case = 'upper';
      format.primary = 'words';
      break;
    case 'Ww':
      format.case = 'title';
      format.primary = 'words';
      break;
    case 'w':
      format.primary = 'words';
      break;
    default: {
      let zeroCode: number | null = null;
      let mandatoryDigits = 0;
      let optionalDigits = 0;
      const groupingSeparators: Separator[] = [];
      let separatorPosition = 0;
      const formatCodepoints = Array.from(primaryFormat)
        .map((c) => c.codePointAt(0)!)
        .reverse();
      for (const codePoint of formatCodepoints) {
        let digit = false;
        for (const group of decimalGroups) {
          if (codePoint >= group && codePoint <= group + 9) {
            digit = true;
            mandatoryDigits++;
            separatorPosition++;
            if (zeroCode === null) zeroCode = group;
            else if (group !== zeroCode) fail('D3131');
            break;
          }
        }
        if (!digit) {
          if (codePoint === 0x23) {
            separatorPosition++;
            optionalDigits++;
          } else {
            groupingSeparators.push({ position: separatorPosition, character: String.fromCodePoint(codePoint) });
          }
        }
      }
      if (mandatoryDigits > 0) {
        format.primary = 'decimal';
        format.zeroCode = zeroCode!;
        format.mandatoryDigits = mandatoryDigits;
        format.optionalDigits = optionalDigits;
        const regular = regularRepeat(groupingSeparators);
        if (regular > 0) {
          format.regular = true;
          format.groupingSeparators = { position: regular, character: groupingSeparators[0]!.character };
        } else {
          format.regular = false;
          format.groupingSeparators = groupingSeparators;
        }
        format.plain = zeroCode === 0x30 && groupingSeparators.length === 0 && !format.ordinal;
      } else {
        format.primary = 'sequence';
        format.token = primaryFormat;
      }
    }
  }
  return format;
}

function regularRepeat(separators: Separator[]): number {
  if (separators.length === 0) return 0;
  const sepChar = separators[0]!.character;
  for (let ii = 1; ii < separators.length; ii++) if (separators[ii]!.character !== sepChar) return 0;
  const indexes = separators.map((s) => s.position);
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const factor = indexes.reduce(gcd);
  for (let index = 1; index <= indexes.length; index++) if (indexes.indexOf(index * factor) === -1) return 0;
  return factor;
}

function formatInteger(input: number, format: IntegerFormat): string {
  let formatted = '';
  const negative = input < 0;
  const value = Math.abs(input);
  switch (format.primary) {
    case 'letters':
      formatted = decimalToLetters(value, format.case === 'upper' ? 'A' : 'a');
      break;
    case 'roman':
      formatted = decimalToRoman(value);
      if (format.case === 'upper') formatted = formatted.toUpperCase();
      break;
    case 'words':
      formatted = numberToWords(value, format.ordinal);
      if (format.case === 'upper') formatted = formatted.toUpperCase();
      else if (format.case === 'lower') formatted = formatted.toLowerCase();
      break;
    case 'decimal': {
      if (format.plain) {
        formatted = ('' + value).padStart(format.mandatoryDigits!, '0');
        break;
      }
      formatted = '' + value;
      const padLength = format.mandatoryDigits! - formatted.length;
      if (padLength > 0) formatted = new Array(padLength + 1).join('0') + formatted;
      if (format.zeroCode !== 0x30) {
        formatted = Array.from(formatted)
          .map((code) => String.fromCodePoint(code.codePointAt(0)! + format.zeroCode! - 0x30))
          .join('');
      }
      if (format.regular) {
        const separator = format.groupingSeparators as Separator;
        const n = Math.floor((formatted.length - 1) / separator.position);
        for (let ii = n; ii > 0; ii--) {
          const pos = formatted.length - ii * separator.position;
          formatted = formatted.substr(0, pos) + separator.character + formatted.substr(pos);
        }
      } else {
        for (const separator of [...(format.groupingSeparators as Separator[])].reverse()) {
          const pos = formatted.length - separator.position;
          formatted = formatted.substr(0, pos) + separator.character + formatted.substr(pos);
        }
      }
      if (format.ordinal) {
        const suffix123: Record<string, string> = { '1': 'st', '2': 'nd', '3': 'rd' };
        let suffix = suffix123[formatted[formatted.length - 1]!];
        if (!suffix || (formatted.length > 1 && formatted[formatted.length - 2] === '1')) suffix = 'th';
        formatted = formatted + suffix;
      }
      break;
    }
    case 'sequence':
      fail('D3130', format.token);
  }
  return negative ? '-' + formatted : formatted;
}

const defaultPresentationModifiers: Record<string, string> = {
  Y: '1',
  M: '1',
  D: '1',
  d: '1',
  F: 'n',
  W: '1',
  w: '1',
  X: '1',
  x: '1',
  H: '1',
  h: '1',
  P: 'n',
  m: '01',
  s: '01',
  f: '1',
  Z: '01:01',
  z: '01:01',
  C: 'n',
  E: 'n',
};

interface Literal {
  readonly type: 'literal';
  readonly value: string;
}
interface Marker {
  readonly type: 'marker';
  readonly component: string;
  width?: { min?: number; max?: number };
  presentation1?: string;
  presentation2?: string;
  ordinal?: boolean;
  names?: Case;
  integerFormat?: IntegerFormat;
  n?: number;
}
type PicturePart = Literal | Marker;

function analyseDateTimePicture(picture: string): PicturePart[] {
  const spec: PicturePart[] = [];
  const addLiteral = (start: number, end: number) => {
    if (end > start) spec.push({ type: 'literal', value: picture.substring(start, end).split(']]').join(']') });
  };
  let start = 0;
  let pos = 0;
  while (pos < picture.length) {
    if (picture.charAt(pos) === '[') {
      if (picture.charAt(pos + 1) === '[') {
        addLiteral(start, pos);
        spec.push({ type: 'literal', value: '[' });
        pos += 2;
        start = pos;
        continue;
      }
      addLiteral(start, pos);
      start = pos;
      pos = picture.indexOf(']', start);
      if (pos === -1) fail('D3135');
      const marker = picture
        .substring(start + 1, pos)
        .split(/\s+/)
        .join('');
      const def: Marker = { type: 'marker', component: marker.charAt(0) };
      const comma = marker.lastIndexOf(',');
      let presMod: string;
      if (comma !== -1) {
        const widthMod = marker.substring(comma + 1);
        const dash = widthMod.indexOf('-');
        const parseWidth = (wm: string | undefined) => (wm === undefined || wm === '*' ? undefined : parseInt(wm));
        const min = dash === -1 ? widthMod : widthMod.substring(0, dash);
        const max = dash === -1 ? undefined : widthMod.substring(dash + 1);
        def.width = { min: parseWidth(min), max: parseWidth(max) };
        presMod = marker.substring(1, comma);
      } else {
        presMod = marker.substring(1);
      }
      if (presMod.length === 1) {
        def.presentation1 = presMod;
      } else if (presMod.length > 1) {
        const lastChar = presMod.charAt(presMod.length - 1);
        if ('atco'.indexOf(lastChar) !== -1) {
          def.presentation2 = lastChar;
          if (lastChar === 'o') def.ordinal = true;
          def.presentation1 = presMod.substring(0, presMod.length - 1);
        } else {
          def.presentation1 = presMod;
        }
      } else {
        def.presentation1 = defaultPresentationModifiers[def.component];
      }
      if (def.presentation1 === undefined) fail('D3132', def.component);
      const p1 = def.presentation1!;
      if (p1[0] === 'n') {
        def.names = 'lower';
      } else if (p1[0] === 'N') {
        def.names = p1[1] === 'n' ? 'title' : 'upper';
      } else if ('YMDdFWwXxHhmsf'.indexOf(def.component) !== -1) {
        let integerPattern = p1;
        if (def.presentation2) integerPattern += ';' + def.presentation2;
        def.integerFormat = analyseIntegerPicture(integerPattern);
        if (def.width && def.width.min !== undefined && def.integerFormat.mandatoryDigits! < def.width.min) {
          def.integerFormat.mandatoryDigits = def.width.min;
        }
        if (def.component === 'Y') {
          def.n = -1;
          if (def.width && def.width.max !== undefined) {
            def.n = def.width.max;
            def.integerFormat.mandatoryDigits = def.n;
          } else {
            const w = def.integerFormat.mandatoryDigits! + def.integerFormat.optionalDigits!;
            if (w >= 2) def.n = w;
          }
        }
        const previousPart = spec[spec.length - 1];
        if (previousPart && previousPart.type === 'marker' && previousPart.integerFormat) {
          previousPart.integerFormat.parseWidth = previousPart.integerFormat.mandatoryDigits;
        }
      }
      if (def.component === 'Z' || def.component === 'z') def.integerFormat = analyseIntegerPicture(p1);
      spec.push(def);
      start = pos + 1;
    }
    pos++;
  }
  addLiteral(start, pos);
  return spec;
}

const days = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const millisInADay = 1000 * 60 * 60 * 24;

/** The start of ISO week 1 of a year or of a month (the week holding its first Thursday). */
function startOfFirstWeek(year: number, month: number): number {
  const jan1 = Date.UTC(year, month);
  let dayOfJan1 = new Date(jan1).getUTCDay();
  if (dayOfJan1 === 0) dayOfJan1 = 7;
  return dayOfJan1 > 4 ? jan1 + (8 - dayOfJan1) * millisInADay : jan1 - (dayOfJan1 - 1) * millisInADay;
}
const nextMonth = (y: number, m: number): [number, number] => (m === 11 ? [y + 1, 0] : [y, m + 1]);
const previousMonth = (y: number, m: number): [number, number] => (m === 0 ? [y - 1, 11] : [y, m - 1]);
const deltaWeeks = (start: number, end: number) => (end - start) / (millisInADay * 7) + 1;

function getDateTimeFragment(date: Date, component: string): number | string | undefined {
  switch (component) {
    case 'Y':
      return date.getUTCFullYear();
    case 'M':
      return date.getUTCMonth() + 1;
    case 'D':
      return date.getUTCDate();
    case 'd': {
      const today = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
      const firstJan = Date.UTC(date.getUTCFullYear(), 0);
      return (today - firstJan) / millisInADay + 1;
    }
    case 'F': {
      const day = date.getUTCDay();
      return day === 0 ? 7 : day;
    }
    case 'W': {
      const year = date.getUTCFullYear();
      const startOfWeek1 = startOfFirstWeek(year, 0);
      const today = Date.UTC(year, date.getUTCMonth(), date.getUTCDate());
      let week = deltaWeeks(startOfWeek1, today);
      if (week > 52) {
        if (today >= startOfFirstWeek(year + 1, 0)) week = 1;
      } else if (week < 1) {
        week = deltaWeeks(startOfFirstWeek(year - 1, 0), today);
      }
      return Math.floor(week);
    }
    case 'w': {
      const year = date.getUTCFullYear();
      const month = date.getUTCMonth();
      const startOfWeek1 = startOfFirstWeek(year, month);
      const today = Date.UTC(year, month, date.getUTCDate());
      let week = deltaWeeks(startOfWeek1, today);
      if (week > 4) {
        if (today >= startOfFirstWeek(...nextMonth(year, month))) week = 1;
      } else if (week < 1) {
        week = deltaWeeks(startOfFirstWeek(...previousMonth(year, month)), today);
      }
      return Math.floor(week);
    }
    case 'X': {
      const year = date.getUTCFullYear();
      const now = date.getTime();
      if (now < startOfFirstWeek(year, 0)) return year - 1;
      if (now >= startOfFirstWeek(year + 1, 0)) return year + 1;
      return year;
    }
    case 'x': {
      const year = date.getUTCFullYear();
      const month = date.getUTCMonth();
      const next = nextMonth(year, month);
      const now = date.getTime();
      if (now < startOfFirstWeek(year, month)) return previousMonth(year, month)[1] + 1;
      if (now >= startOfFirstWeek(...next)) return next[1] + 1;
      return month + 1;
    }
    case 'H':
      return date.getUTCHours();
    case 'h': {
      const hour = date.getUTCHours() % 12;
      return hour === 0 ? 12 : hour;
    }
    case 'P':
      return date.getUTCHours() >= 12 ? 'pm' : 'am';
    case 'm':
      return date.getUTCMinutes();
    case 's':
      return date.getUTCSeconds();
    case 'f':
      return date.getUTCMilliseconds();
    case 'C':
    case 'E':
      return 'ISO';
    default:
      return undefined; // Z and z: an instant from epoch millis is always UTC
  }
}

/** Formats an instant (`$fromMillis`, `$now`) with a picture, or ISO 8601 without one. */
export type DateFormatter = (millis: number) => string;

const ISO_PICTURE = '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]';

/**
 * Analyses the picture and the timezone once; throws JSONata's error for a picture it rejects
 * before looking at any instant. Formatting itself may still throw what JSONata throws per value.
 */
export function compileDateFormatter(picture: string | undefined, timezone: string | undefined): DateFormatter {
  let offsetHours = 0;
  let offsetMinutes = 0;
  if (timezone !== undefined) {
    const offset = parseInt(timezone);
    offsetHours = Math.floor(offset / 100);
    offsetMinutes = offset % 100;
  }
  const parts = analyseDateTimePicture(picture ?? ISO_PICTURE);
  const offsetMillis = (60 * offsetHours + offsetMinutes) * 60 * 1000;

  const formatComponent = (date: Date, marker: Marker): string => {
    let value = getDateTimeFragment(date, marker.component);
    const component = marker.component;
    if ('YMDdFWwXxHhms'.indexOf(component) !== -1) {
      if (component === 'Y' && marker.n !== -1) value = (value as number) % Math.pow(10, marker.n!);
      if (marker.names) {
        let name: string;
        if (component === 'M' || component === 'x') name = months[(value as number) - 1]!;
        else if (component === 'F') name = days[value as number]!;
        else return fail('D3133', component);
        if (marker.names === 'upper') name = name.toUpperCase();
        else if (marker.names === 'lower') name = name.toLowerCase();
        if (marker.width && name.length > marker.width.max!) name = name.substring(0, marker.width.max);
        return name;
      }
      return formatInteger(value as number, marker.integerFormat!);
    }
    if (component === 'f') return formatInteger(value as number, marker.integerFormat!);
    if (component === 'Z' || component === 'z') {
      const offset = offsetHours * 100 + offsetMinutes;
      let text: string;
      if (marker.integerFormat!.regular) {
        text = formatInteger(offset, marker.integerFormat!);
      } else {
        const numDigits = marker.integerFormat!.mandatoryDigits!;
        if (numDigits === 1 || numDigits === 2) {
          text = formatInteger(offsetHours, marker.integerFormat!);
          if (offsetMinutes !== 0) text += ':' + formatInteger(Math.floor(offsetMinutes), analyseIntegerPicture('00'));
        } else if (numDigits === 3 || numDigits === 4) {
          text = formatInteger(offset, marker.integerFormat!);
        } else {
          return fail('D3134', numDigits);
        }
      }
      if (offset >= 0) text = '+' + text;
      if (component === 'z') text = 'GMT' + text;
      if (offset === 0 && marker.presentation2 === 't') text = 'Z';
      return text;
    }
    if (component === 'P') return marker.names === 'upper' ? (value as string).toUpperCase() : (value as string);
    return String(value); // C and E ('ISO'); JSONata concatenates whatever the fragment is
  };

  return (millis) => {
    const dateTime = new Date(millis + offsetMillis);
    let result = '';
    for (const part of parts) result += part.type === 'literal' ? part.value : formatComponent(dateTime, part);
    return result;
  };
}

/** One capture of a picture's regex, and how its text becomes a component value. */
interface MatchPart {
  readonly regex: string;
  readonly component?: string;
  readonly parse?: (text: string) => number | undefined;
}

function integerMatcher(format: IntegerFormat): { regex: string; parse: (text: string) => number } {
  const isUpper = format.case === 'upper';
  switch (format.primary) {
    case 'letters':
      return { regex: isUpper ? '[A-Z]+' : '[a-z]+', parse: (value) => lettersToDecimal(value, isUpper ? 'A' : 'a') };
    case 'roman':
      return { regex: isUpper ? '[MDCLXVI]+' : '[mdclxvi]+', parse: (value) => romanToDecimal(isUpper ? value : value.toUpperCase()) };
    case 'words':
      return {
        regex: '(?:' + Object.keys(wordValues).concat('and', '[\\-, ]').join('|') + ')+',
        parse: (value) => wordsToNumber(value.toLowerCase()),
      };
    case 'decimal': {
      let regex = '[0-9]';
      regex += format.parseWidth ? `{${format.parseWidth}}` : '+';
      if (format.ordinal) regex += '(?:th|st|nd|rd)';
      const separators = format.regular ? undefined : (format.groupingSeparators as Separator[]);
      // The regex captures ASCII digits only: without an ordinal suffix or other zero digit, removing
      // the separators (never an ASCII digit) is a no-op, and the text goes to parseInt as it is.
      if (!format.ordinal && format.zeroCode === 0x30) return { regex, parse: (value) => parseInt(value) };
      return {
        regex,
        parse: (value) => {
          let digits = value;
          if (format.ordinal) digits = value.substring(0, value.length - 2);
          if (separators) for (const sep of separators) digits = digits.split(sep.character).join('');
          else digits = digits.split(',').join('');
          if (format.zeroCode !== 0x30) {
            digits = digits
              .split('')
              .map((char) => String.fromCodePoint(char.codePointAt(0)! - format.zeroCode! + 0x30))
              .join('');
          }
          return parseInt(digits);
        },
      };
    }
    default:
      return fail('D3130', format.token);
  }
}

function matchPart(part: PicturePart): MatchPart {
  if (part.type === 'literal') return { regex: part.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') };
  const component = part.component;
  if (component === 'Z' || component === 'z') {
    const separator = Array.isArray(part.integerFormat!.groupingSeparators) ? undefined : part.integerFormat!.groupingSeparators;
    let regex = component === 'z' ? 'GMT' : '';
    regex += '[-+][0-9]+';
    if (separator) regex += separator.character + '[0-9]+';
    return {
      regex,
      component,
      parse: (text) => {
        const value = component === 'z' ? text.substring(3) : text;
        let offsetHours: number;
        let offsetMinutes = 0;
        if (separator) {
          offsetHours = Number.parseInt(value.substring(0, value.indexOf(separator.character)));
          offsetMinutes = Number.parseInt(value.substring(value.indexOf(separator.character) + 1));
        } else if (value.length - 1 <= 2) {
          offsetHours = Number.parseInt(value);
        } else {
          offsetHours = Number.parseInt(value.substring(0, 3));
          offsetMinutes = Number.parseInt(value.substring(3));
        }
        return offsetHours * 60 + offsetMinutes;
      },
    };
  }
  if (component === 'f') return { regex: '[0-9]+', component, parse: (value) => parseFloat('0.' + value.substring(0, 3)) * 1000 };
  if (part.integerFormat) return { ...integerMatcher(part.integerFormat), component };
  const lookup: Record<string, number> = Object.create(null);
  if (component === 'M' || component === 'x') {
    months.forEach((name, index) => (lookup[part.width && part.width.max ? name.substring(0, part.width.max) : name] = index + 1));
  } else if (component === 'F') {
    days.forEach((name, index) => {
      if (index > 0) lookup[part.width && part.width.max ? name.substring(0, part.width.max) : name] = index;
    });
  } else if (component === 'P') {
    Object.assign(lookup, { am: 0, AM: 0, pm: 1, PM: 1 });
  } else {
    fail('D3133', component);
  }
  return { regex: '[a-zA-Z]+', component, parse: (value) => lookup[value] };
}

/**
 * Parses a timestamp with a picture (`$toMillis`): epoch millis, or undefined when the text does
 * not match. `now(context)` gives the evaluation's instant, read only when the picture leaves the
 * leading components (the year...) to default to today's.
 */
export type DateParser = <C>(timestamp: string, now: (context: C) => Date, context: C) => number | undefined;

/** Component letters, each an index into a parser's scratch array. */
const LETTERS = 'YXMxWwdDFPHhmsfZz';
const at = (letter: string) => LETTERS.indexOf(letter);
const Y = at('Y');
const M = at('M');
const D = at('D');
const d = at('d');
const P = at('P');
const H = at('H');
const h = at('h');
const m = at('m');
const s = at('s');
const f = at('f');
const Z = at('Z');
const z = at('z');

//        date mask YXMxWwdD; time mask PHhmsf (JSONata's parseDateTime)
const DATE_MASK_PARTS = [...'YXMxWwdD'].map(at);
const TIME_MASK_PARTS = [...'PHhmsf'].map(at);
const dmA = 161;
const dmB = 130;
const dmC = 84;
const dmD = 72;
const tmA = 23;
const tmB = 47;
/** A component mask is of a type when it sets no bit outside it and at least one inside it. */
const isType = (type: number, mask: number) => !(~type & mask) && !!(type & mask);
/** The components each date and time combination fills in, most significant first. */
const COMBINATIONS = new Map(
  ['YD', 'XxwF', 'XWF', 'YMD'].flatMap((date) =>
    ['Phmsf', 'Hmsf'].map((time) => [
      date + time,
      [...(date + time)].map((letter) => ({ index: at(letter), oneBased: 'MDd'.includes(letter), letter })),
    ]),
  ),
);

/** Analyses the picture and builds its regex once; throws JSONata's error for a picture it rejects. */
export function compileDateParser(picture: string): DateParser {
  const parts = analyseDateTimePicture(picture).map(matchPart);
  const matcher = new RegExp('^' + parts.map((part) => '(' + part.regex + ')').join('') + '$', 'i');
  const markers = parts.flatMap((part, i) => (part.parse ? [{ group: i + 1, index: at(part.component!), parse: part.parse }] : []));
  if (markers.some((marker) => marker.index === -1)) fail('D3132'); // unreachable: matchPart parses only these letters
  // One array of components per parser, reset per value: parsing is synchronous and never re-entered.
  const c: (number | undefined)[] = new Array(LETTERS.length).fill(undefined);
  return (timestamp, now, context) => {
    const info = matcher.exec(timestamp);
    if (info === null) return undefined;
    if (markers.length === 0) return undefined; // nothing specified
    c.fill(undefined);
    for (const marker of markers) c[marker.index] = marker.parse(info[marker.group]!);

    let mask = 0;
    for (const i of DATE_MASK_PARTS) mask = (mask << 1) + (c[i] ? 1 : 0);
    const dateA = isType(dmA, mask);
    const dateB = !dateA && isType(dmB, mask);
    const dateC = isType(dmC, mask);
    const dateD = !dateC && isType(dmD, mask);
    mask = 0;
    for (const i of TIME_MASK_PARTS) mask = (mask << 1) + (c[i] ? 1 : 0);
    const timeA = isType(tmA, mask);
    const timeB = !timeA && isType(tmB, mask);

    const comps = COMBINATIONS.get((dateB ? 'YD' : dateC ? 'XxwF' : dateD ? 'XWF' : 'YMD') + (timeB ? 'Phmsf' : 'Hmsf'))!;
    let startSpecified = false;
    let endSpecified = false;
    for (const comp of comps) {
      if (c[comp.index] === undefined) {
        if (startSpecified) {
          c[comp.index] = comp.oneBased ? 1 : 0;
          endSpecified = true;
        } else {
          c[comp.index] = getDateTimeFragment(now(context), comp.letter) as number;
        }
      } else {
        startSpecified = true;
        if (endSpecified) fail('D3136');
      }
    }
    if (c[M]! > 0) c[M] = c[M]! - 1;
    else c[M] = 0;
    if (dateB) {
      const firstJan = Date.UTC(c[Y]!, 0);
      const derivedDate = new Date(firstJan + (c[d]! - 1) * millisInADay);
      c[M] = derivedDate.getUTCMonth();
      c[D] = derivedDate.getUTCDate();
    }
    if (dateC || dateD) fail('D3136');
    if (timeB) {
      c[H] = c[h] === 12 ? 0 : c[h];
      if (c[P] === 1) c[H] = c[H]! + 12;
    }
    let millis = Date.UTC(c[Y]!, c[M], c[D], c[H], c[m], c[s], c[f]);
    if (c[Z] || c[z]) millis -= (c[Z] || c[z])! * 60 * 1000;
    return millis;
  };
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/**
 * `new Date(millis).toISOString()` for an integer `millis` from 0000-01-01 to 9999-12-31 (the
 * caller checks the range), in arithmetic: the civil date from the day number (Howard Hinnant's
 * `civil_from_days`), without a Date object. V8's toISOString took 1.7 us a value.
 */
export function isoUtc(millis: number): string {
  const days = Math.floor(millis / millisInADay);
  let rest = millis - days * millisInADay;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const ms = rest - seconds * 1000;
  return (
    `${year < 1000 ? String(year).padStart(4, '0') : year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}` +
    `T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${ms < 100 ? (ms < 10 ? '00' : '0') : ''}${ms}Z`
  );
}
