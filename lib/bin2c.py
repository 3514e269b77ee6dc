#!/usr/bin/env python3
"""bin2c.py IN OUT NAME IS_TEST: writes OUT, a C file defining
`const unsigned char NAME[]`, `const size_t NAME_len` with IN's bytes and
`const int NAME_is_test` = IS_TEST."""
import sys

src, dst, name, is_test = sys.argv[1:5]
data = open(src, 'rb').read()
with open(dst, 'w') as f:
    f.write('/* generated from %s by lib/bin2c.py */\n#include <stddef.h>\n' % src.split('/')[-1])
    f.write('extern const unsigned char %s[];\nextern const size_t %s_len;\n' % (name, name))
    f.write('extern const int %s_is_test;\n' % name)
    f.write('const unsigned char %s[] = {\n' % name)
    for i in range(0, len(data), 12):
        f.write('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 12]) + '\n')
    f.write('};\nconst size_t %s_len = %d;\nconst int %s_is_test = %d;\n' % (name, len(data), name, int(is_test)))
