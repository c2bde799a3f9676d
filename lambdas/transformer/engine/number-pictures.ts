/**
 * JSONata's `$formatNumber` (XPath F&O format-number) split into the analysis of the picture, done
 * once when an expression compiles, and the formatting of each value. A port of jsonata 2.2's
 * `formatNumber` (© IBM Corp. 2016, 2018, MIT licence), kept step for step (the F&O bullets) so the
 * compiled closures give exactly the interpreter's strings. A picture JSONata rejects throws the
 * same `{ code }` at analysis; the compiler then leaves the expression to the interpreter.
 */

/** The separators and signs `$formatNumber`'s third argument may override. */
const DEFAULT_PROPERTIES: Readonly<Record<string, string>> = {
  'decimal-separator': '.',
  'grouping-separator': ',',
  'exponent-separator': 'e',
  infinity: 'Infinity',
  'minus-sign': '-',
  NaN: 'NaN',
  percent: '%',
  'per-mille': '\u2030',
  'zero-digit': '0',
  digit: '#',
  'pattern-separator': ';',
};

interface SubPicture {
  integerPartGroupingPositions: number[];
  regularGrouping: number;
  minimumIntegerPartSize: number;
  scalingFactor: number;
  prefix: string;
  fractionalPartGroupingPositions: number[];
  minimumFactionalPartSize: number;
  maximumFactionalPartSize: number;
  minimumExponentSize: number;
  suffix: string;
  picture: string;
}

const fail = (code: string): never => {
  throw { code };
};

/** Analyses a picture (and option overrides) once; the formatter takes a finite number. */
export function compileNumberFormatter(picture: string, options: Readonly<Record<string, string>> = {}): (value: number) => string {
  const properties: Record<string, string> = { ...DEFAULT_PROPERTIES };
  for (const key of Object.keys(options)) properties[key] = options[key]!;
  const decimalDigitFamily: string[] = [];
  const zeroCharCode = properties['zero-digit']!.charCodeAt(0);
  for (let ii = zeroCharCode; ii < zeroCharCode + 10; ii++) decimalDigitFamily.push(String.fromCharCode(ii));
  const activeChars = decimalDigitFamily.concat([
    properties['decimal-separator']!,
    properties['exponent-separator']!,
    properties['grouping-separator']!,
    properties.digit!,
    properties['pattern-separator']!,
  ]);
  const isDigit = (ch: string) => decimalDigitFamily.indexOf(ch) !== -1;
  const subPictures = picture.split(properties['pattern-separator']!);
  if (subPictures.length > 2) fail('D3080');

  const splitParts = (subpicture: string) => {
    const isActive = (ch: string) => activeChars.indexOf(ch) !== -1 && ch !== properties['exponent-separator'];
    let prefix = '';
    for (let ii = 0; ii < subpicture.length; ii++) {
      if (isActive(subpicture.charAt(ii))) {
        prefix = subpicture.substring(0, ii);
        break;
      }
    }
    let suffix = '';
    for (let ii = subpicture.length - 1; ii >= 0; ii--) {
      if (isActive(subpicture.charAt(ii))) {
        suffix = subpicture.substring(ii + 1);
        break;
      }
    }
    const activePart = subpicture.substring(prefix.length, subpicture.length - suffix.length);
    let mantissaPart: string;
    let exponentPart: string | undefined;
    const exponentPosition = subpicture.indexOf(properties['exponent-separator']!, prefix.length);
    if (exponentPosition === -1 || exponentPosition > subpicture.length - suffix.length) {
      mantissaPart = activePart;
      exponentPart = undefined;
    } else {
      mantissaPart = activePart.substring(0, exponentPosition);
      exponentPart = activePart.substring(exponentPosition + 1);
    }
    const decimalPosition = mantissaPart.indexOf(properties['decimal-separator']!);
    const integerPart = decimalPosition === -1 ? mantissaPart : mantissaPart.substring(0, decimalPosition);
    const fractionalPart = decimalPosition === -1 ? suffix : mantissaPart.substring(decimalPosition + 1);
    return { prefix, suffix, activePart, mantissaPart, exponentPart, integerPart, fractionalPart, subpicture };
  };
  type Parts = ReturnType<typeof splitParts>;

  const validate = (parts: Parts) => {
    let error: string | undefined;
    const subpicture = parts.subpicture;
    const decimalSeparator = properties['decimal-separator']!;
    const groupingSeparator = properties['grouping-separator']!;
    const decimalPos = subpicture.indexOf(decimalSeparator);
    if (decimalPos !== subpicture.lastIndexOf(decimalSeparator)) error = 'D3081';
    if (subpicture.indexOf(properties.percent!) !== subpicture.lastIndexOf(properties.percent!)) error = 'D3082';
    if (subpicture.indexOf(properties['per-mille']!) !== subpicture.lastIndexOf(properties['per-mille']!)) error = 'D3083';
    if (subpicture.indexOf(properties.percent!) !== -1 && subpicture.indexOf(properties['per-mille']!) !== -1) error = 'D3084';
    let valid = false;
    for (let ii = 0; ii < parts.mantissaPart.length; ii++) {
      const ch = parts.mantissaPart.charAt(ii);
      if (isDigit(ch) || ch === properties.digit) {
        valid = true;
        break;
      }
    }
    if (!valid) error = 'D3085';
    if (parts.activePart.split('').some((char) => activeChars.indexOf(char) === -1)) error = 'D3086';
    if (decimalPos !== -1) {
      if (subpicture.charAt(decimalPos - 1) === groupingSeparator || subpicture.charAt(decimalPos + 1) === groupingSeparator)
        error = 'D3087';
    } else if (parts.integerPart.charAt(parts.integerPart.length - 1) === groupingSeparator) {
      error = 'D3088';
    }
    if (subpicture.indexOf(groupingSeparator + groupingSeparator) !== -1) error = 'D3089';
    let optionalDigitPos = parts.integerPart.indexOf(properties.digit!);
    if (optionalDigitPos !== -1 && parts.integerPart.substring(0, optionalDigitPos).split('').filter(isDigit).length > 0) error = 'D3090';
    optionalDigitPos = parts.fractionalPart.lastIndexOf(properties.digit!);
    if (optionalDigitPos !== -1 && parts.fractionalPart.substring(optionalDigitPos).split('').filter(isDigit).length > 0) error = 'D3091';
    const exponentExists = typeof parts.exponentPart === 'string';
    if (
      exponentExists &&
      parts.exponentPart!.length > 0 &&
      (subpicture.indexOf(properties.percent!) !== -1 || subpicture.indexOf(properties['per-mille']!) !== -1)
    )
      error = 'D3092';
    if (exponentExists && (parts.exponentPart!.length === 0 || parts.exponentPart!.split('').some((char) => !isDigit(char))))
      error = 'D3093';
    if (error) fail(error);
  };

  const analyse = (parts: Parts): SubPicture => {
    const getGroupingPositions = (part: string, toLeft: boolean) => {
      const positions: number[] = [];
      let groupingPosition = part.indexOf(properties['grouping-separator']!);
      while (groupingPosition !== -1) {
        const charsToTheRight = (toLeft ? part.substring(0, groupingPosition) : part.substring(groupingPosition))
          .split('')
          .filter((char) => isDigit(char) || char === properties.digit).length;
        positions.push(charsToTheRight);
        // JSONata searches the integer part for the next separator, whichever part it started in
        groupingPosition = parts.integerPart.indexOf(properties['grouping-separator']!, groupingPosition + 1);
      }
      return positions;
    };
    const integerPartGroupingPositions = getGroupingPositions(parts.integerPart, false);
    const regular = (indexes: number[]) => {
      if (indexes.length === 0) return 0;
      const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
      const factor = indexes.reduce(gcd);
      for (let index = 1; index <= indexes.length; index++) if (indexes.indexOf(index * factor) === -1) return 0;
      return factor;
    };
    const regularGrouping = regular(integerPartGroupingPositions);
    const fractionalPartGroupingPositions = getGroupingPositions(parts.fractionalPart, true);
    let minimumIntegerPartSize = parts.integerPart.split('').filter(isDigit).length;
    const scalingFactor = minimumIntegerPartSize;
    const fractionalPartArray = parts.fractionalPart.split('');
    let minimumFactionalPartSize = fractionalPartArray.filter(isDigit).length;
    let maximumFactionalPartSize = fractionalPartArray.filter((char) => isDigit(char) || char === properties.digit).length;
    const exponentPresent = typeof parts.exponentPart === 'string';
    if (minimumIntegerPartSize === 0 && maximumFactionalPartSize === 0) {
      if (exponentPresent) {
        minimumFactionalPartSize = 1;
        maximumFactionalPartSize = 1;
      } else {
        minimumIntegerPartSize = 1;
      }
    }
    if (exponentPresent && minimumIntegerPartSize === 0 && parts.integerPart.indexOf(properties.digit!) !== -1) minimumIntegerPartSize = 1;
    if (minimumIntegerPartSize === 0 && minimumFactionalPartSize === 0) minimumFactionalPartSize = 1;
    const minimumExponentSize = exponentPresent ? parts.exponentPart!.split('').filter(isDigit).length : 0;
    return {
      integerPartGroupingPositions,
      regularGrouping,
      minimumIntegerPartSize,
      scalingFactor,
      prefix: parts.prefix,
      fractionalPartGroupingPositions,
      minimumFactionalPartSize,
      maximumFactionalPartSize,
      minimumExponentSize,
      suffix: parts.suffix,
      picture: parts.subpicture,
    };
  };

  const parts = subPictures.map(splitParts);
  parts.forEach(validate);
  const variables = parts.map(analyse);
  const minusSign = properties['minus-sign']!;
  const zeroDigit = properties['zero-digit']!;
  const decimalSeparator = properties['decimal-separator']!;
  const groupingSeparator = properties['grouping-separator']!;
  if (variables.length === 1) variables.push({ ...structuredClone(variables[0]!), prefix: minusSign + variables[0]!.prefix });

  const makeString = (value: number, dp: number) => {
    const str = Math.abs(value).toFixed(dp);
    if (zeroDigit === '0') return str;
    return str
      .split('')
      .map((digit) => (digit >= '0' && digit <= '9' ? decimalDigitFamily[digit.charCodeAt(0) - 48]! : digit))
      .join('');
  };

  return (value) => {
    const pic = value >= 0 ? variables[0]! : variables[1]!;
    let adjustedNumber: number;
    if (pic.picture.indexOf(properties.percent!) !== -1) adjustedNumber = value * 100;
    else if (pic.picture.indexOf(properties['per-mille']!) !== -1) adjustedNumber = value * 1000;
    else adjustedNumber = value;
    let mantissa: number;
    let exponent: number | undefined;
    if (pic.minimumExponentSize === 0) {
      mantissa = adjustedNumber;
    } else {
      const maxMantissa = Math.pow(10, pic.scalingFactor);
      const minMantissa = Math.pow(10, pic.scalingFactor - 1);
      mantissa = adjustedNumber;
      exponent = 0;
      if (mantissa !== 0) {
        while (Math.abs(mantissa) < minMantissa) {
          mantissa *= 10;
          exponent -= 1;
        }
        while (Math.abs(mantissa) > maxMantissa) {
          mantissa /= 10;
          exponent += 1;
        }
      }
    }
    const roundedNumber = roundHalfEven(mantissa, pic.maximumFactionalPartSize);
    let stringValue = makeString(roundedNumber, pic.maximumFactionalPartSize);
    let decimalPos = stringValue.indexOf('.');
    stringValue = decimalPos === -1 ? stringValue + decimalSeparator : stringValue.replace('.', decimalSeparator);
    while (stringValue.charAt(0) === zeroDigit) stringValue = stringValue.substring(1);
    while (stringValue.charAt(stringValue.length - 1) === zeroDigit) stringValue = stringValue.substring(0, stringValue.length - 1);
    decimalPos = stringValue.indexOf(decimalSeparator);
    let padLeft = pic.minimumIntegerPartSize - decimalPos;
    const padRight = pic.minimumFactionalPartSize - (stringValue.length - decimalPos - 1);
    stringValue = (padLeft > 0 ? new Array(padLeft + 1).join(zeroDigit) : '') + stringValue;
    stringValue = stringValue + (padRight > 0 ? new Array(padRight + 1).join(zeroDigit) : '');
    decimalPos = stringValue.indexOf(decimalSeparator);
    if (pic.regularGrouping > 0) {
      const groupCount = Math.floor((decimalPos - 1) / pic.regularGrouping);
      for (let group = 1; group <= groupCount; group++) {
        const at = decimalPos - group * pic.regularGrouping;
        stringValue = stringValue.slice(0, at) + groupingSeparator + stringValue.slice(at);
      }
    } else {
      for (const pos of pic.integerPartGroupingPositions) {
        stringValue = stringValue.slice(0, decimalPos - pos) + groupingSeparator + stringValue.slice(decimalPos - pos);
        decimalPos++;
      }
    }
    decimalPos = stringValue.indexOf(decimalSeparator);
    for (const pos of pic.fractionalPartGroupingPositions) {
      stringValue = stringValue.slice(0, pos + decimalPos + 1) + groupingSeparator + stringValue.slice(pos + decimalPos + 1);
    }
    decimalPos = stringValue.indexOf(decimalSeparator);
    if (pic.picture.indexOf(decimalSeparator) === -1 || decimalPos === stringValue.length - 1) {
      stringValue = stringValue.substring(0, stringValue.length - 1);
    }
    if (exponent !== undefined) {
      let stringExponent = makeString(exponent, 0);
      padLeft = pic.minimumExponentSize - stringExponent.length;
      if (padLeft > 0) stringExponent = new Array(padLeft + 1).join(zeroDigit) + stringExponent;
      stringValue = stringValue + properties['exponent-separator'] + (exponent < 0 ? minusSign : '') + stringExponent;
    }
    return pic.prefix + stringValue + pic.suffix;
  };
}

/** JSONata's `$round`: half to even, at `precision` decimal places, shifting in the decimal string as JSONata does. */
export function roundHalfEven(arg: number, precision?: number): number {
  let n = arg;
  if (precision) {
    const text = n.toString();
    const e = text.indexOf('e');
    // the same decimal shift as JSONata's split('e'), without its arrays (this runs once per value)
    n = e === -1 ? +`${text}e${precision}` : +`${text.slice(0, e)}e${+text.slice(e + 1) + precision}`;
  }
  let result = Math.round(n);
  const diff = result - n;
  if (Math.abs(diff) === 0.5 && Math.abs(result % 2) === 1) result = result - 1;
  if (precision) {
    const text = result.toString();
    const e = text.indexOf('e');
    result = e === -1 ? +`${text}e${-precision}` : +`${text.slice(0, e)}e${+text.slice(e + 1) - precision}`;
  }
  return Object.is(result, -0) ? 0 : result;
}
