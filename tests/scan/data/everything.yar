// Matches every scanned file: used to check that every entry with content reaches YARA.
rule any_content
{
    condition:
        true
}
