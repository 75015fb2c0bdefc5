# Judgments per (assignment, criterion), and numbered replicas for raters_per_item (issue 14).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0002_held_out_queries'),
        ('generation', '0002_answer_adapter_hash'),
        ('rating', '0002_crowd_queue'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='assignment',
            name='one_copy_of_each_kind',
        ),
        migrations.AddField(
            model_name='assignment',
            name='replica_number',
            field=models.PositiveSmallIntegerField(default=0, help_text="For a replica: 1 for the item's second rater, 2 for its third, … (raters_per_item - 1)."),
        ),
        migrations.AddField(
            model_name='judgment',
            name='criterion',
            field=models.CharField(blank=True, default='', help_text="The design's criterion this answers (designs.spec.Criterion.name); empty for a design's one question.", max_length=63),
        ),
        migrations.AlterField(
            model_name='judgment',
            name='assignment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='judgments', to='rating.assignment'),
        ),
        migrations.AddConstraint(
            model_name='assignment',
            constraint=models.UniqueConstraint(condition=models.Q(('source__isnull', False)), fields=('source', 'kind', 'replica_number'), name='one_copy_of_each_kind'),
        ),
        migrations.AddConstraint(
            model_name='judgment',
            constraint=models.UniqueConstraint(fields=('assignment', 'criterion'), name='one_judgment_per_criterion'),
        ),
    ]
