import { InvalidInputError } from './errors';
import { checkSourceUrl } from './source-database';

describe('checkSourceUrl', () => {
  it('accepts mysql:// and mariadb:// URLs naming a database, and says where they point', () => {
    expect(checkSourceUrl('mysql://root:pw@127.0.0.1:3306/shop')).toBe('127.0.0.1:3306/shop');
    expect(checkSourceUrl('mariadb://App@DB.internal/shop_2?ssl={"rejectUnauthorized":true}')).toBe('db.internal:3306/shop_2');
  });

  it.each([
    ['not a url', /not a valid URL/],
    ['postgres://u:pw@h/db', /must start with mysql:\/\/ or mariadb:\/\/, not postgres:\/\//],
    ['mysql://u:pw@h:3306', /must name the database/],
    ['mysql://u:pw@h/a%60b', /must name the database/],
    ['mysql://u:pw@h/db?multipleStatements=true', /option "multipleStatements" is not supported/],
  ])('refuses %s, naming the field and never repeating the URL', (url, message) => {
    let error: unknown;
    try {
      checkSourceUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe('url');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('pw');
  });
});
