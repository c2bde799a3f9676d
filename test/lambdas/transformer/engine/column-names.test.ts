import { describe, expect, it } from 'vitest';
import { closestColumn, columnSimilarity, normaliseColumnName } from '../../../../lambdas/transformer/engine/column-names.js';

describe('column names', () => {
  it('normalises case, spacing, punctuation and accents away', () => {
    expect(normaliseColumnName('Customer Email')).toBe('customeremail');
    expect(normaliseColumnName('customer_email')).toBe('customeremail');
    expect(normaliseColumnName('CUSTOMER-EMAIL ')).toBe('customeremail');
    expect(normaliseColumnName('Währung (EUR)')).toBe('wahrungeur');
  });

  it('rates names equal once normalised as 1 and unrelated names low', () => {
    expect(columnSimilarity('Order ID', 'order_id')).toBe(1);
    expect(columnSimilarity('amount', 'zzzzzz')).toBe(0);
    expect(columnSimilarity('"', "'")).toBe(0);
  });

  it('names the closest header column of a misspelt one', () => {
    const header = ['Aircraft Make', 'Aircraft Make Model', 'Airport', 'Cost Total $'];
    expect(closestColumn('Aircraft Model', header)?.name).toBe('Aircraft Make Model');
    expect(closestColumn('cost_total', header)?.name).toBe('Cost Total $');
    expect(closestColumn('weather', header)).toBeUndefined();
    expect(closestColumn('ammount', ['amount', 'account_no'])?.name).toBe('amount');
    expect(closestColumn('orderDate', ['order_id', 'order_date'])).toEqual({ name: 'order_date', similarity: 1 });
  });
});
